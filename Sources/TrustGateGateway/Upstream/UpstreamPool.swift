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

    private struct Idle {
        let link: UpstreamLink
        let since: NIODeadline
    }

    let maximumIdle: Int
    let idleTimeout: TimeAmount
    private let idle = NIOLockedValueBox<[Key: [Idle]]>([:])
    private let sweeper = NIOLockedValueBox<Task<Void, Never>?>(nil)

    /// Idle connections are swept every `sweepInterval` (not one timer per idle connection: a keep-alive
    /// exchange then costs no timer at all).
    init(maximumIdle: Int = 32, idleTimeout: TimeAmount = .seconds(60), sweepInterval: Duration = .seconds(5)) {
        self.maximumIdle = maximumIdle
        self.idleTimeout = idleTimeout
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
        let expired = idle.withLockedValue { idle -> [Idle] in
            var expired: [Idle] = []
            for (key, entries) in idle {
                let (old, fresh) = (entries.filter { now - $0.since >= idleTimeout }, entries.filter { now - $0.since < idleTimeout })
                guard !old.isEmpty else { continue }
                expired += old
                idle[key] = fresh.isEmpty ? nil : fresh
            }
            return expired
        }
        for entry in expired { entry.link.channel.close(promise: nil) }
    }

    /// The most recently used idle connection for `key` that is still open and whose verdict still admits it:
    /// judged under allow-list `generation`, with no certificate of its chain expired at `time`. Any other is
    /// closed instead: between a reload (or an entry's expiry) and the re-check of pooled connections
    /// (``UpstreamRegistry``), none is reused on an old verdict.
    func take(_ key: Key, generation: Int64, at time: Date = Date()) -> UpstreamLink? {
        while let entry = idle.withLockedValue({ $0[key]?.popLast() }) {
            guard entry.link.channel.isActive else { continue }
            if let admission = entry.link.admission, !admission.admits(generation: generation, at: time) {
                entry.link.channel.close(promise: nil)
                continue
            }
            return entry.link
        }
        return nil
    }

    /// Puts a connection back after a complete exchange; closes it instead when the pool for its key is full.
    /// Backends (`host:port`) a reload took out of every pool: their connections are not kept once idle
    /// (connection draining: requests in flight finish, nothing new is sent).
    private let retired = NIOLockedValueBox<Set<String>>([])

    /// After a reload: the backends of `previous` that are not `active` are retired; their idle connections
    /// close now, their busy ones when they finish.
    func retire(previous: Set<String>, active: Set<String>) {
        retired.withLockedValue { $0 = previous.subtracting(active) }
        let closing = idle.withLockedValue { idle -> [Idle] in
            let gone = idle.filter { !active.contains($0.key.target) }
            for key in gone.keys { idle.removeValue(forKey: key) }
            return gone.values.flatMap { $0 }
        }
        for entry in closing { entry.link.channel.close(promise: nil) }
    }

    func put(_ link: UpstreamLink) {
        guard link.channel.isActive else { return }
        if retired.withLockedValue({ !$0.isEmpty && $0.contains(link.key.target) }) {
            link.channel.close(promise: nil)
            return
        }
        let entry = Idle(link: link, since: .now())
        let kept = idle.withLockedValue { idle -> Bool in
            guard idle[link.key, default: []].count < maximumIdle else { return false }
            idle[link.key, default: []].append(entry)
            return true
        }
        if !kept { link.channel.close(promise: nil) }
    }

    /// Called once per connection when it closes, wherever it is.
    func forget(_ channel: Channel, key: Key) {
        idle.withLockedValue { idle in
            idle[key]?.removeAll { $0.link.channel === channel }
            if idle[key]?.isEmpty == true { idle[key] = nil }
        }
    }

    /// Idle connections, over every key.
    var idleCount: Int { idle.withLockedValue { $0.values.reduce(0) { $0 + $1.count } } }

    /// Closes every idle connection and stops sweeping (shutdown).
    func closeAll() {
        sweeper.withLockedValue { $0?.cancel() }
        let all = idle.withLockedValue { idle -> [Idle] in
            defer { idle = [:] }
            return idle.values.flatMap { $0 }
        }
        for entry in all { entry.link.channel.close(promise: nil) }
    }
}
