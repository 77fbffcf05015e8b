import Foundation
import NIOCore

/// What the pool needs of a connection: its key, whether it is still open, and what its verdict admits.
protocol PooledConnection: AnyObject {
    var poolKey: UpstreamPool.Key { get }
    var isOpen: Bool { get }
    var admission: UpstreamAdmission? { get }
}

/// The idle connections of ``UpstreamPool`` and every rule about them, as a value: each input returns the
/// connections to close, and the pool closes them outside its lock. Time is an input, so tests turn it by hand.
struct UpstreamPoolState<Connection: PooledConnection> {
    fileprivate struct Idle {
        let connection: Connection
        let since: NIODeadline
    }

    let maximumIdle: Int
    let idleTimeout: TimeAmount
    private var idle: [UpstreamPool.Key: [Idle]] = [:]
    /// Backends (`host:port`) a reload took out of every pool: their connections are not kept once idle.
    private var retired: Set<String> = []

    init(maximumIdle: Int, idleTimeout: TimeAmount) {
        self.maximumIdle = maximumIdle
        self.idleTimeout = idleTimeout
    }

    var idleCount: Int { idle.values.reduce(0) { $0 + $1.count } }

    /// The most recently used idle connection for `key` that is open and still admitted under `generation` at
    /// `time`, and the idle ones passed over that must close (judged under an older allow-list, or a certificate
    /// of their chain expired); closed ones are dropped.
    mutating func take(_ key: UpstreamPool.Key, generation: Int64, at time: Date) -> (Connection?, close: [Connection]) {
        var close: [Connection] = []
        while let entry = idle[key]?.popLast() {
            if idle[key]?.isEmpty == true { idle[key] = nil }
            guard entry.connection.isOpen else { continue }
            if let admission = entry.connection.admission, !admission.admits(generation: generation, at: time) {
                close.append(entry.connection)
                continue
            }
            return (entry.connection, close)
        }
        return (nil, close)
    }

    /// A connection back after a complete exchange at `now`: nil when kept, else itself, to close (its backend
    /// was retired, or its key already holds ``maximumIdle`` idle connections).
    mutating func put(_ connection: Connection, now: NIODeadline) -> Connection? {
        guard connection.isOpen else { return nil }
        let key = connection.poolKey
        if !retired.isEmpty, retired.contains(key.target) { return connection }
        guard idle[key, default: []].count < maximumIdle else { return connection }
        idle[key, default: []].append(Idle(connection: connection, since: now))
        return nil
    }

    /// The connections idle for ``idleTimeout`` or more at `now`.
    mutating func expire(now: NIODeadline) -> [Connection] {
        var expired: [Connection] = []
        for (key, entries) in idle {
            let old = entries.filter { now - $0.since >= idleTimeout }
            guard !old.isEmpty else { continue }
            expired += old.map(\.connection)
            let fresh = entries.filter { now - $0.since < idleTimeout }
            idle[key] = fresh.isEmpty ? nil : fresh
        }
        return expired
    }

    /// After a reload: backends of `previous` not in `active` are retired; their idle connections close now (the
    /// busy ones when they come back).
    mutating func retire(previous: Set<String>, active: Set<String>) -> [Connection] {
        retired = previous.subtracting(active)
        let gone = idle.filter { !active.contains($0.key.target) }
        for key in gone.keys { idle.removeValue(forKey: key) }
        return gone.values.flatMap { $0.map(\.connection) }
    }

    /// A connection closed, wherever it was: the idle one of `key` that `matches`, if any, leaves.
    mutating func forget(key: UpstreamPool.Key, where matches: (Connection) -> Bool) {
        idle[key]?.removeAll { matches($0.connection) }
        if idle[key]?.isEmpty == true { idle[key] = nil }
    }

    /// Every idle connection, to close (shutdown).
    mutating func removeAll() -> [Connection] {
        defer { idle = [:] }
        return idle.values.flatMap { $0.map(\.connection) }
    }
}

/// Sendable when its connections are: the pool keeps it under a lock.
extension UpstreamPoolState: Sendable where Connection: Sendable {}
extension UpstreamPoolState.Idle: Sendable where Connection: Sendable {}
