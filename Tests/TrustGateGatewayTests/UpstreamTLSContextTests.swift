import NIOCore
import NIOSSL
import Testing
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

@Suite("UpstreamTLSContext: TLS 1.2 at least, and a bounded Certificate message")
struct UpstreamTLSContextTests {
    @Test("A backend that speaks at most TLS 1.1 is refused in the handshake")
    func minimumVersion() async throws {
        let pki = try TestPKI()
        let valid = try #require(pki.backends["valid"])
        let chain = try ([valid.certificate] + valid.chain).map {
            NIOSSLCertificateSource.certificate(try NIOSSLCertificate(bytes: $0.der, format: .der))
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(bytes: try valid.key.pkcs8DER(), format: .der))
        )
        configuration.minimumTLSVersion = .tlsv1
        configuration.maximumTLSVersion = .tlsv11
        let pair = try await TLSBackToBack.make(try UpstreamTLSContext(), server: try NIOSSLContext(configuration: configuration),
                                                judge: TLSBackToBack.allowAll)
        try await pair.shuttle()
        #expect(pair.observer.established == nil)
        guard case .handshake = pair.failure else {
            Issue.record("expected a handshake failure, got \(pair.observer.errors)")
            return
        }
    }

    @Test("A Certificate message over 32 KiB is refused as oversized before any certificate is judged")
    func oversizedCertificateList() async throws {
        let pki = try TestPKI()
        let valid = try #require(pki.backends["valid"])
        // The leaf, then its intermediate over and over: well past the cap.
        let padding = Array(repeating: valid.chain[0], count: 100)
        #expect(([valid.certificate] + padding).map(\.der.count).reduce(0, +) > UpstreamTLSContext.maximumCertificateList)
        let server = try EchoBackend.makeContext(certificates: [valid.certificate] + padding, key: valid.key)
        let pair = try await TLSBackToBack.make(try UpstreamTLSContext(), server: server, judge: TLSBackToBack.allowAll)
        try await pair.shuttle()
        #expect(pair.observer.established == nil)
        guard case .oversizedCertificates = pair.failure else {
            Issue.record("expected oversizedCertificates, got \(pair.observer.errors)")
            return
        }
    }
}
