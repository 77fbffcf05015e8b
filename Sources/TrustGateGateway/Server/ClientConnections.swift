import NIOConcurrencyHelpers
import NIOCore

/// The open client connections, so that a stopping gateway can drain them: idle ones close at once, busy ones
/// after the response in flight (sent with `Connection: close`).
final class ClientConnections: Sendable {
    private struct Open {
        let channel: Channel
        let handler: NIOLoopBound<ProxyHandler>
    }

    private let open = NIOLockedValueBox<[ObjectIdentifier: Open]>([:])
    private let draining = NIOLockedValueBox(false)
    private let metrics: GatewayMetrics?

    init(metrics: GatewayMetrics? = nil) {
        self.metrics = metrics
    }

    func add(_ channel: Channel, handler: NIOLoopBound<ProxyHandler>) {
        let key = ObjectIdentifier(channel)
        let count = open.withLockedValue {
            $0[key] = Open(channel: channel, handler: handler)
            return $0.count
        }
        metrics?.openConnections(count)
        channel.closeFuture.whenComplete { [open, metrics] _ in
            let count = open.withLockedValue {
                $0.removeValue(forKey: key)
                return $0.count
            }
            metrics?.openConnections(count)
        }
        // A connection accepted while the drain starts is drained too.
        if draining.withLockedValue({ $0 }) {
            channel.eventLoop.execute { handler.value.beginDraining() }
        }
    }

    var count: Int { open.withLockedValue { $0.count } }

    func drain() {
        draining.withLockedValue { $0 = true }
        for entry in open.withLockedValue({ Array($0.values) }) {
            entry.channel.eventLoop.execute { entry.handler.value.beginDraining() }
        }
    }

    func closeAll() {
        for entry in open.withLockedValue({ Array($0.values) }) {
            entry.channel.close(promise: nil)
        }
    }
}
