import NIOConcurrencyHelpers
import NIOCore

/// At most `limit` client connections open at once on one listening socket (a listener's `max-connections`):
/// at the limit the socket stops accepting (its reads pause, so new connections wait in the kernel's backlog)
/// and accepts again once a connection has closed, as HAProxy's `maxconn` does. A connection the kernel handed
/// over in the same batch of accepts as the one that reached the limit is held, unserved, and served first when a
/// connection closes (at most `maximumHeld`, the few of one batch; past that, closed). Sits in the server
/// channel's pipeline, before ServerBootstrap's acceptor, and sees every accepted child channel.
final class AcceptLimiter: ChannelInboundHandler, @unchecked Sendable {
    // Mutable state is touched on the server channel's event loop only; `open` is read from child event loops
    // under its lock.
    typealias InboundIn = Channel
    typealias InboundOut = Channel

    /// More than one batch of accepts (NIO reads a handful per wake-up) never needs holding.
    static let maximumHeld = 16

    private let limit: Int
    private let listener: String
    private let metrics: GatewayMetrics?
    private let open = NIOLockedValueBox(0)
    private var paused = false
    private var held: [Channel] = []
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
        for child in held { child.close(promise: nil) }
        held = []
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        guard held.isEmpty, admit(child, context: context) else {
            // Over the limit within one batch of accepts: served when a slot frees, in order.
            guard held.count < Self.maximumHeld else {
                metrics?.connectionRefused(listener: listener)
                child.close(promise: nil)
                return
            }
            held.append(child)
            return
        }
    }

    /// Takes a slot for `child` and hands it to the acceptor; false when every slot is taken.
    private func admit(_ child: Channel, context: ChannelHandlerContext) -> Bool {
        let count = open.withLockedValue { count -> Int? in
            guard count < limit else { return nil }
            count += 1
            return count
        }
        guard let count else { return false }
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
        context.fireChannelRead(wrapInboundOut(child))
        return true
    }

    private func resume() {
        guard let context = serverContext else { return }
        while let first = held.first, admit(first, context: context) { held.removeFirst() }
        guard paused, held.isEmpty, open.withLockedValue({ $0 }) < limit else { return }
        paused = false
        context.channel.setOption(.autoRead, value: true).whenFailure { _ in }
        context.read()
    }
}
