import NIOConcurrencyHelpers
import NIOCore

/// At most `limit` client connections open at once on one listening socket (a listener's `max-connections`):
/// at the limit the socket stops accepting (its reads pause, so new connections wait in the kernel's backlog)
/// and accepts again once a connection has closed. A connection accepted in the same batch as the one that
/// reached the limit is closed at once. Sits in the server channel's pipeline, before ServerBootstrap's
/// acceptor, and sees every accepted child channel.
final class AcceptLimiter: ChannelInboundHandler, @unchecked Sendable {
    // Mutable state is touched on the server channel's event loop only; `open` is read from child event loops
    // under its lock.
    typealias InboundIn = Channel
    typealias InboundOut = Channel

    private let limit: Int
    private let listener: String
    private let metrics: GatewayMetrics?
    private let open = NIOLockedValueBox(0)
    private var paused = false
    private var serverContext: ChannelHandlerContext?

    init(limit: Int, listener: String, metrics: GatewayMetrics?) {
        self.limit = limit
        self.listener = listener
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        serverContext = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        serverContext = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        let count = open.withLockedValue { count -> Int? in
            guard count < limit else { return nil }
            count += 1
            return count
        }
        guard let count else {
            // Over the limit within one batch of accepts: not served.
            metrics?.connectionRefused(listener: listener)
            child.close(promise: nil)
            return
        }
        let eventLoop = context.eventLoop
        child.closeFuture.whenComplete { [self] _ in
            let remaining = open.withLockedValue { count -> Int in
                count -= 1
                return count
            }
            if remaining < limit { eventLoop.execute { self.resume() } }
        }
        if count >= limit, !paused {
            paused = true
            metrics?.acceptsPaused(listener: listener)
            context.channel.setOption(.autoRead, value: false).whenFailure { _ in }
        }
        context.fireChannelRead(data)
    }

    private func resume() {
        guard paused, let context = serverContext, open.withLockedValue({ $0 }) < limit else { return }
        paused = false
        context.channel.setOption(.autoRead, value: true).whenFailure { _ in }
        context.read()
    }
}
