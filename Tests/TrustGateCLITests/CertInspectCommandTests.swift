import Foundation
import Testing
import TrustGatePKI
import TrustGateTesting

@Suite("trustgate cert inspect reads tolerantly")
struct CertInspectCommandTests {
    @Test("Key blocks it cannot use are reported, not fatal; an unreadable certificate is shown and exits 65")
    func tolerantInspect() async throws {
        try await withTestPKI { dir in
            let leaf = try String(contentsOfFile: dir.file("backend-valid.pem"), encoding: .utf8)
            let root = try String(contentsOfFile: dir.file("root-ca.pem"), encoding: .utf8)
            let inLeaf = leaf.components(separatedBy: "-----BEGIN CERTIFICATE-----").count - 1
            let encrypted = PEMBlock(label: "ENCRYPTED PRIVATE KEY", der: [0x30, 0x03, 0x02, 0x01, 0x00]).encoded()
            let mixed = "Certificate:\n    Data: (openssl x509 -text)\n" + leaf + encrypted + root
            try mixed.write(toFile: dir.file("mixed.pem"), atomically: true, encoding: .utf8)

            let text = try TrustGateBinary.run(["cert", "inspect", "mixed.pem"], in: dir.path)
            #expect(text.status == 0, "\(text)")
            #expect(text.stdout.contains("\(inLeaf + 1) certificates, with private key"), "\(text)")
            #expect(text.stdout.contains("private key (block \(inLeaf + 1)): not usable: the private key is encrypted"), "\(text)")

            let hostile = try #require(try HostileCertificates()["ber-boolean"])
            try (leaf + hostile.pem + root).write(toFile: dir.file("bad.pem"), atomically: true, encoding: .utf8)
            let bad = try TrustGateBinary.run(["cert", "inspect", "bad.pem", "--json"], in: dir.path)
            #expect(bad.status == 65, "\(bad)")
            #expect(bad.stderr.contains("block \(inLeaf + 1) (CERTIFICATE)"), "\(bad)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(bad.stdout.utf8)) as? [String: Any])
            #expect((report["certificates"] as? [Any])?.count == inLeaf + 1, "\(bad.stdout)")
            let unreadable = try #require(report["unreadable"] as? [[String: Any]])
            #expect(unreadable.count == 1 && unreadable[0]["kind"] as? String == "certificate")
            #expect(unreadable[0]["position"] as? Int == inLeaf + 1 && (unreadable[0]["sha256"] as? String)?.count == 64)
            // The trust path reads strictly: cert verify refuses the same file.
            let verify = try TrustGateBinary.run(["cert", "verify", "bad.pem", "--roots", "root-ca.pem"], in: dir.path)
            #expect(verify.status == 65, "\(verify)")
        }
    }
}
