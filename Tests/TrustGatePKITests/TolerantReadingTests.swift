import Foundation
import Testing
import TrustGatePKI
import TrustGateTesting

/// `cert inspect` reads tolerantly (every part that can be read, the others reported); every other reader is
/// strict and refuses the same files.
@Suite("Tolerant reading for inspection, strict reading for everything else")
struct TolerantReadingTests {
    let issued: IssuedCertificate
    let root: ParsedCertificate

    init() throws {
        let authority = try TestIssuance.root()
        issued = try TestIssuance.leaf(issuer: authority)
        root = authority.certificate
    }

    /// A DSA key and its self-signed certificate, made by OpenSSL: (PKCS#8 key PEM, certificate PEM).
    static func dsa(in dir: TemporaryDirectory) throws -> (key: String, certificate: String) {
        let parameters = try ProcessRunner.run("openssl", ["genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt",
                                                           "dsa_paramgen_bits:1024", "-out", dir.file("dsa.param")])
        try #require(parameters.status == 0, "\(parameters)")
        let key = try ProcessRunner.run("openssl", ["genpkey", "-paramfile", dir.file("dsa.param"), "-out",
                                                    dir.file("dsa.key")])
        try #require(key.status == 0, "\(key)")
        let certificate = try ProcessRunner.run("openssl", ["req", "-x509", "-key", dir.file("dsa.key"), "-subj",
                                                            "/CN=dsa.test", "-days", "30", "-out", dir.file("dsa.pem")])
        try #require(certificate.status == 0, "\(certificate)")
        return (try String(contentsOfFile: dir.file("dsa.key"), encoding: .utf8),
                try String(contentsOfFile: dir.file("dsa.pem"), encoding: .utf8))
    }

    @Test("Every certificate of a PEM that also holds encrypted, broken and DSA keys, a CSR, text and headers")
    func keyBlocksReported() async throws {
        try await withTemporaryDirectory { dir in
            let dsa = try Self.dsa(in: dir)
            let encrypted = PEMBlock(label: "ENCRYPTED PRIVATE KEY", der: [0x30, 0x03, 0x02, 0x01, 0x00]).encoded()
            let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n"
                + Data(repeating: 7, count: 48).base64EncodedString() + "\n-----END RSA PRIVATE KEY-----\n"
            let garbage = PEMBlock(label: "PRIVATE KEY", der: [0x30, 0x02, 0x05, 0x00]).encoded()
            let csr = PEMBlock(label: "CERTIFICATE REQUEST", der: [0x30, 0x00]).encoded()
            let text = "subject=CN = leaf\nissuer=CN = root\n" + issued.certificate.pem + encrypted + legacy
                + "Bag Attributes\n" + garbage + dsa.key + csr + root.pem + dsa.certificate + "trailing\n"

            let bundle = try CertificateBundle.decode(Array(text.utf8), tolerant: true)
            #expect(bundle.certificates.count == 3)
            #expect(bundle.certificates.prefix(2).map(\.der) == [issued.certificate.der, root.der])
            #expect(bundle.certificates[2].publicKey == KeyDescription(algorithm: "DSA", bits: 1024))
            #expect(bundle.certificates[2].x509 == nil && bundle.certificates[2].unusableReason?.contains("DSA") == true)
            #expect(bundle.privateKeys.isEmpty)
            let parts = bundle.unreadable
            #expect(parts.map(\.position) == [2, 3, 4, 5, 6], "\(parts)")
            #expect(parts.map(\.kind) == [.privateKey, .privateKey, .privateKey, .privateKey, .other])
            #expect(parts[0].reason.contains("encrypted (PKCS#8"))
            #expect(parts[1].reason == "the private key is encrypted (legacy PEM encryption, AES-256-CBC)")
            #expect(parts[2].reason.contains("not a readable PKCS#8") && parts[2].key == nil)
            #expect(parts[3].key == KeyDescription(algorithm: "DSA", bits: 1024), "\(parts[3])")
            #expect(parts[4].reason.contains("certificate signing request"))
            #expect(!parts.contains { $0.isDefect })

            // Every strict reader refuses the file, with the first problem.
            let error = #expect(throws: PKIError.self) { try CertificateBundle.decode(Array(text.utf8)) }
            #expect(error?.reason.contains("encrypted") == true)
        }
    }

    @Test("A certificate that is not strict DER is listed with its SHA-256 and never read; strict names its place")
    func unreadableCertificate() throws {
        let hostile = try #require(try HostileCertificates()["ber-boolean"])
        let text = issued.certificate.pem + hostile.pem + root.pem
        let bundle = try CertificateBundle.decode(Array(text.utf8), tolerant: true)
        #expect(bundle.certificates.map(\.der) == [issued.certificate.der, root.der])
        let part = try #require(bundle.unreadable.first)
        #expect(bundle.unreadable.count == 1 && part.kind == .certificate && part.position == 2 && part.isDefect)
        let digest = try ProcessRunner.run("openssl", ["dgst", "-sha256", "-r"], input: hostile.der)
        #expect(part.sha256.map { digest.stdout.hasPrefix($0 + " ") } == true, "\(digest.stdout)")
        #expect(!part.reason.contains(".swift:"), "library source locations stay out of messages: \(part.reason)")
        let error = #expect(throws: PKIError.self) { try CertificateBundle.decode(Array(text.utf8)) }
        #expect(error?.reason.hasPrefix("certificate 2 of the file: ") == true, "\(String(describing: error))")
        // A file holding nothing readable is refused in both modes.
        #expect(throws: PKIError.self) { try CertificateBundle.decode(Array(hostile.pem.utf8), tolerant: true) }
    }

    @Test("A PEM cut anywhere: tolerant reading gives whole certificates and says the last block is truncated")
    func truncatedTolerant() throws {
        let pem = Array((issued.certificate.pem + root.pem).utf8)
        let firstEnd = issued.certificate.pem.utf8.count
        var brokenSeen = 0
        for cut in stride(from: 30, to: pem.count - 1, by: 29) {
            guard let bundle = try? CertificateBundle.decode(Array(pem.prefix(cut)), tolerant: true) else {
                #expect(cut < firstEnd + 30, "cut at \(cut): the first certificate was whole")
                continue
            }
            #expect(bundle.certificates.map(\.der) == [issued.certificate.der], "cut at \(cut)")
            if cut > firstEnd + 27 {
                #expect(bundle.unreadable.contains { $0.isDefect }, "cut at \(cut): the cut block is reported")
                brokenSeen += 1
            }
        }
        #expect(brokenSeen > 5)
    }

    @Test("A PKCS#12 with a DSA key: described (algorithm, size) when tolerant, refused when strict")
    func pkcs12DSA() async throws {
        try await withTemporaryDirectory { dir in
            _ = try Self.dsa(in: dir)
            let made = try ProcessRunner.run("openssl", ["pkcs12", "-export", "-inkey", dir.file("dsa.key"), "-in",
                                                         dir.file("dsa.pem"), "-passout", "pass:s3cret", "-out",
                                                         dir.file("dsa.pfx")])
            try #require(made.status == 0, "\(made)")
            let der = Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("dsa.pfx"))))
            let bundle = try CertificateBundle.decode(der, password: Password("s3cret"), tolerant: true)
            #expect(bundle.certificates.count == 1 && bundle.certificates[0].publicKey.algorithm == "DSA")
            let key = try #require(bundle.unreadable.first)
            #expect(key.kind == .privateKey && key.key == KeyDescription(algorithm: "DSA", bits: 1024), "\(key)")
            #expect(key.reason == "DSA 1024 private keys are not supported (EC, RSA and Ed25519 are)")
            let error = #expect(throws: PKIError.self) {
                try CertificateBundle.decode(der, password: Password("s3cret"))
            }
            #expect(error?.code == .unsupportedInput && error?.reason.contains("DSA 1024") == true)
        }
    }
}
