import NIOCore
import NIOEmbedded
import Testing
@testable import TrustGateGateway

@Suite("UpstreamLink: a pooled connection is open exactly while its channel is")
struct UpstreamLinkTests {
    @Test("Open while the channel is active, under the key it was made with; a closed link is not put back")
    func openness() throws {
        let key = UpstreamPoolStateTests.key()
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "10.0.0.1", port: 443)).wait()
        let link = UpstreamLink(channel: channel, handler: UpstreamResponseHandler(), key: key, admission: nil)
        #expect(link.isOpen && link.poolKey == key)
        _ = try? channel.finish()
        #expect(!link.isOpen)
        var state = UpstreamPoolState<UpstreamLink>(maximumIdle: 4, idleTimeout: .seconds(60))
        #expect(state.put(link, now: .now()) == nil && state.idleCount == 0, "dropped, not kept")
    }
}
