import NIOCore
import NIOEmbedded
import Testing
@testable import TrustGateGateway

@Suite("HandshakeWatcher: the connect result waits for the handshake, and never for ever")
struct HandshakeWatcherTests {
    static func watched() throws -> (EmbeddedChannel, EventLoopFuture<UpstreamTLSHandler.Established>) {
        let channel = EmbeddedChannel()
        let promise = channel.embeddedEventLoop.makePromise(of: UpstreamTLSHandler.Established.self)
        try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(promise: promise))
        return (channel, promise.futureResult)
    }

    @Test("Established completes the promise, and the watcher leaves the pipeline")
    func established() throws {
        let (channel, future) = try Self.watched()
        channel.pipeline.fireUserInboundEventTriggered(UpstreamTLSHandler.Established(presented: [], admission: nil))
        channel.embeddedEventLoop.run()
        #expect(try future.wait().presented.isEmpty)
        #expect(throws: ChannelPipelineError.self) { try channel.pipeline.syncOperations.handler(type: HandshakeWatcher.self) }
    }

    @Test("An error or a close before the handshake fails it; a later one changes nothing")
    func failures() throws {
        let (failing, failed) = try Self.watched()
        failing.pipeline.fireErrorCaught(UpstreamTLSHandler.Failure.handshake("alert"))
        failing.pipeline.fireChannelInactive()
        #expect(throws: UpstreamTLSHandler.Failure.self) { try failed.wait() }

        let (closing, closed) = try Self.watched()
        closing.pipeline.fireChannelInactive()
        #expect(throws: ChannelError.self) { try closed.wait() }
    }
}
