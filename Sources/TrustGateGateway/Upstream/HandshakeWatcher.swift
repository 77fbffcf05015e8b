import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import TrustGateAllowList
import TrustGatePKI

/// Completes `promise` with what the handshake established when it finishes, or fails it when the connection
/// errors or closes first.
final class HandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let promise: EventLoopPromise<UpstreamTLSHandler.Established>
    private var done = false

    init(promise: EventLoopPromise<UpstreamTLSHandler.Established>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let established = event as? UpstreamTLSHandler.Established, !done else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        done = true
        promise.succeed(established)
        context.fireUserInboundEventTriggered(event)
        // Out of the way of every read that follows.
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !done {
            done = true
            promise.fail(error)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(ChannelError.eof)
        }
        context.fireChannelInactive()
    }
}
