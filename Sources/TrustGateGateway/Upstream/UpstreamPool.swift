import Foundation
import NIOConcurrencyHelpers
import NIOCore
import TrustGateAllowList
import TrustGatePKI

/// Idle keep-alive connections to backends, shared by every client connection served on the same event loop (a
/// connection is only ever used on the loop that made it, so handing it over needs no thread hop). Like nginx's
/// upstream `keepalive 32` with `keepalive_timeout 60s`: at most ``maximumIdle`` idle connections per backend and
/// loop, each closed after ``idleTimeout`` unused. A connection enters the pool only after a complete exchange
/// with a keep-alive response; the allow-list watcher closes pooled connections whose backend is no longer
/// allowed (``UpstreamRegistry``), and a closed connection leaves the pool by itself.
final class UpstreamPool: Sendable {
    /// Connections are interchangeable when they are on the same loop to an equal ``UpstreamEndpoint``.
    struct Key: Hashable, Sendable {
        let eventLoop: ObjectIdentifier
        let endpoint: UpstreamEndpoint
        /// Hashed once when made: a key is looked up when a connection is taken and again when it is put back.
        private let hash: Int

        init(eventLoop: ObjectIdentifier, endpoint: UpstreamEndpoint) {
            self.eventLoop = eventLoop
            self.endpoint = endpoint
            var hasher = Hasher()
            hasher.combine(eventLoop)
            hasher.combine(endpoint)
            hash = hasher.finalize()
        }

        var target: String { endpoint.target }

        func hash(into hasher: inout Hasher) {
            hasher.combine(hash)
        }
    }

    let maximumIdle: Int
    let idleTimeout: TimeAmount
    private let state: NIOLockedValueBox<UpstreamPoolState<UpstreamLink>>
    private let sweeper = NIOLockedValueBox<Task<Void, Never>?>(nil)

    /// Idle connections are swept every `sweepInterval` (not one timer per idle connection: a keep-alive
    /// exchange then costs no timer at all).
    init(maximumIdle: Int = 32, idleTimeout: TimeAmount = .seconds(60), sweepInterval: Duration = .seconds(5)) {
        self.maximumIdle = maximumIdle
        self.idleTimeout = idleTimeout
        state = NIOLockedValueBox(UpstreamPoolState(maximumIdle: maximumIdle, idleTimeout: idleTimeout))
        let task = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: sweepInterval)
                self?.closeExpired()
            }
        }
        sweeper.withLockedValue { $0 = task }
    }

    /// Closes the connections idle for longer than ``idleTimeout``.
    func closeExpired(now: NIODeadline = .now()) {
        close(state.withLockedValue { $0.expire(now: now) })
    }

    /// The most recently used idle connection for `key` that is still open and whose verdict still admits it:
    /// judged under allow-list `generation`, with no certificate of its chain expired at `time`. Any other is
    /// closed instead: between a reload (or an entry's expiry) and the re-check of pooled connections
    /// (``UpstreamRegistry``), none is reused on an old verdict.
    func take(_ key: Key, generation: Int64, at time: Date = Date()) -> UpstreamLink? {
        let (link, stale) = state.withLockedValue { $0.take(key, generation: generation, at: time) }
        close(stale)
        return link
    }

    /// After a reload: the backends of `previous` that are not `active` are retired; their idle connections
    /// close now, their busy ones when they finish (connection draining: requests in flight finish, nothing new
    /// is sent).
    func retire(previous: Set<String>, active: Set<String>) {
        close(state.withLockedValue { $0.retire(previous: previous, active: active) })
    }

    /// Puts a connection back after a complete exchange; closes it instead when the pool for its key is full or
    /// its backend was retired.
    func put(_ link: UpstreamLink) {
        if let refused = state.withLockedValue({ $0.put(link, now: .now()) }) { close([refused]) }
    }

    /// Called once per connection when it closes, wherever it is.
    func forget(_ channel: Channel, key: Key) {
        state.withLockedValue { $0.forget(key: key) { $0.channel === channel } }
    }

    /// Idle connections, over every key.
    var idleCount: Int { state.withLockedValue { $0.idleCount } }

    /// Closes every idle connection and stops sweeping (shutdown).
    func closeAll() {
        sweeper.withLockedValue { $0?.cancel() }
        close(state.withLockedValue { $0.removeAll() })
    }

    private func close(_ links: [UpstreamLink]) {
        for link in links { link.channel.close(promise: nil) }
    }
}
