import COpenSSL
import Testing
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

@Suite("UpstreamClientIdentity: the client certificate shown to backends that ask")
struct UpstreamClientIdentityTests {
    @Test("A file with no certificate is refused; a key that is not the certificate's cannot be applied; a pair can")
    func identities() throws {
        let pki = try TestPKI()
        let valid = try #require(pki.backends["valid"])
        let other = try #require(pki.backends["expired"])
        #expect(throws: PKIError.self) {
            _ = try UpstreamClientIdentity(bundle: CertificateBundle(format: .pem, certificates: [], privateKeys: []), key: valid.key)
        }
        let context = try UpstreamTLSContext()
        func applies(_ identity: UpstreamClientIdentity) throws -> Bool {
            let ssl = try #require(SSL_new(context.pointer))
            defer { SSL_free(ssl) }
            return identity.apply(to: ssl)
        }
        let chain = CertificateBundle(format: .pem, certificates: [valid.certificate] + valid.chain, privateKeys: [])
        #expect(try applies(UpstreamClientIdentity(bundle: chain, key: valid.key)))
        #expect(try !applies(UpstreamClientIdentity(bundle: chain, key: other.key)), "OpenSSL checks the key matches")
    }
}
