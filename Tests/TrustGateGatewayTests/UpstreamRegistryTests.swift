import Logging
import NIOCore
import NIOEmbedded
import Testing
import TrustGateAllowList
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

@Suite("UpstreamRegistry: open upstream connections re-judged when the allow-list changes")
struct UpstreamRegistryTests {
    @Test("A connection whose backend is still allowed stays; one no longer allowed is closed; closed ones leave")
    func revalidate() async throws {
        let pki = try TestPKI()
        let valid = try #require(pki.backends["valid"])
        let root = try EntryRegistration(gateway: "g").entry(
            from: CertificateBundle(format: .pem, certificates: [pki.root.certificate], privateKeys: []), file: "root.pem",
            actor: "test"
        )
        let state = AllowListState(gateway: "g", version: 1, entries: [root])
        let registry = UpstreamRegistry()
        let channel = EmbeddedChannel()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        registry.add(channel, presented: [valid.certificate] + valid.chain, hostName: TestPKI.backendHost, mode: .trustedRoot,
                     profile: .strict)
        #expect(registry.count == 1)
        await registry.revalidate(with: state, logger: Logger(label: "test"))
        #expect(channel.isActive, "still allowed")

        state.replace(version: 2, entries: [])
        await registry.revalidate(with: state, logger: Logger(label: "test"))
        #expect(!channel.isActive, "the root left the allow-list")
        channel.embeddedEventLoop.run()  // the close future's callbacks
        #expect(registry.count == 0)
    }
}
