import NIOCore
import NIOEmbedded
import Testing
@testable import TrustGateGateway

@Suite("UpstreamResponseHandler: an idle pooled connection answers nothing")
struct UpstreamResponseHandlerTests {
    @Test("Bytes from a backend while no response is awaited close the connection (nothing was asked)")
    func unsolicited() throws {
        let channel = EmbeddedChannel(handler: UpstreamResponseHandler())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
        #expect(!channel.isActive)
    }

    @Test("Awaiting a response but owned by no client connection: closed too")
    func ownerless() throws {
        let handler = UpstreamResponseHandler()
        handler.expectResponse(toHEAD: false, dechunk: false)
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\n"))
        #expect(!channel.isActive)
    }
}
