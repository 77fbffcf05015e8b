import Foundation
import Testing
import TrustGatePKI
import TrustGateTesting

/// Certificates with extreme or non-DER fields: every reader refuses them as malformed, none traps.
@Suite("Hostile certificates: extreme INTEGERs, BER where DER is required")
struct HostileCertificateTests {
    @Test("Each variant is refused as malformed input by the certificate reader and by the file decoder")
    func refused() throws {
        for variant in try HostileCertificates().variants {
            #expect(throws: PKIError.self, "\(variant.name)") { try ParsedCertificate(der: variant.der) }
            do {
                _ = try CertificateBundle.decode(Array(variant.pem.utf8))
                Issue.record("\(variant.name) was decoded")
            } catch {
                #expect(error.code == .malformedInput, "\(variant.name): \(error)")
            }
        }
    }

    @Test("OpenSSL reads them: a TLS server can present them")
    func opensslReadsThem() async throws {
        try await withTemporaryDirectory { dir in
            for variant in try HostileCertificates().variants where variant.name != "version-2^64" {
                let path = try dir.write("\(variant.name).der", variant.der)
                let result = try ProcessRunner.run("openssl", ["x509", "-inform", "DER", "-in", path, "-noout", "-subject"])
                #expect(result.status == 0, "\(variant.name): \(result)")
            }
        }
    }

    @Test("A presented chain with an unreadable certificate anywhere is refused, naming its position")
    func presentedChain() throws {
        let hostile = try HostileCertificates()
        let good = try CustomCertificate("backend.test", ca: false, sans: [.dnsName("backend.test")]).certificate.der
        for variant in hostile.variants {
            guard case .refused(let first) = PresentedChain.parse([variant.der, good], handshakeLeaf: variant.der) else {
                Issue.record("\(variant.name) first was accepted")
                continue
            }
            #expect(first.category == .malformed && first.detail.hasPrefix("certificate 1 of 2"), "\(first)")
            guard case .refused(let second) = PresentedChain.parse([good, variant.der], handshakeLeaf: good) else {
                Issue.record("\(variant.name) second was accepted")
                continue
            }
            #expect(second.category == .malformed && second.detail.hasPrefix("certificate 2 of 2"), "\(second)")
        }
        guard case .refused(let mismatch) = PresentedChain.parse([good], handshakeLeaf: Array(good.dropLast()) + [0]) else {
            Issue.record("a leaf other than the handshake's was accepted")
            return
        }
        #expect(mismatch.category == .malformed)
        guard case .chain(let chain) = PresentedChain.parse([good, good], handshakeLeaf: good) else {
            Issue.record("a valid chain was refused")
            return
        }
        #expect(chain.count == 2)
        let many = [[UInt8]](repeating: good, count: PresentedChain.maximumCertificates + 1)
        guard case .refused(let tooMany) = PresentedChain.parse(many, handshakeLeaf: good) else {
            Issue.record("\(many.count) certificates were accepted")
            return
        }
        #expect(tooMany.category == .tooComplex)
    }
}
