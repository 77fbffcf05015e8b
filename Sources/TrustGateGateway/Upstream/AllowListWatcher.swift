import Foundation
import Logging
import NIOConcurrencyHelpers
import TrustGateAllowList

/// Polls the store's per-gateway version (one indexed read) and reloads the allow-list when it changes, so a
/// change made with `trustgate allowlist` is enforced without a restart.
///
/// An SQLite store is read every `interval` (250 ms). Its file is watched too: when the path stops naming the
/// file that was opened (deleted, or replaced with `mv`), the old allow-list stays in force and the store is
/// marked stale (``StoreHealth``); once a readable store is at the path again it is opened and its allow-list
/// enforced.
///
/// A PostgreSQL store pushes: one dedicated connection `LISTEN`s on `trustgate_allowlist`, and the version is
/// read on every notification for this gateway, on every (re)connection of that listener (notifications sent
/// while it was away are lost, so the version is the truth, not the notification), and every 30 s as a safety
/// net; a notification wakes the loop at once. While the store cannot be read the last allow-list stays in force
/// and reads are retried with backoff (250 ms doubling to 1 s), as is the listener. Reads run on a dispatch
/// queue of their own, not on the Swift concurrency pool.
///
/// Every allow-list read is written to the snapshot file (last-known-good). Every change of state is logged
/// once. An entry's expiry starts a new allow-list generation without a store change; the watcher reports that
/// too, so connections in use are re-judged.
public final class AllowListWatcher: Sendable {
    private let task: Task<Void, Never>
    private let listener: Task<Void, Never>?

    init(
        store: any AllowListStore, state: AllowListState, health: StoreHealth, snapshot: String?,
        snapshotWritten: Bool = true, metrics: GatewayMetrics? = nil, interval: Duration = .milliseconds(250),
        logger: Logger,
        onChange: @escaping @Sendable () -> Void
    ) {
        let doorbell = Doorbell()
        let postgres = store as? PostgresAllowListStore
        listener = postgres.map { Self.listen(to: $0, gateway: state.gateway, doorbell: doorbell, logger: logger) }
        let watch = NIOLockedValueBox(
            Watch(store: store, state: state, health: health, snapshot: snapshot, metrics: metrics, logger: logger,
                  doorbell: doorbell, snapshotWritten: snapshotWritten)
        )
        // Store reads block (a PostgreSQL read can wait out connect-timeout or statement-timeout during an
        // outage): they run on a queue of their own, never on the Swift concurrency pool the gateway shares.
        let reads = DispatchQueue(label: "trustgate.allowlist-watcher")
        task = Task.detached {
            // A PostgreSQL store is read when the doorbell rings (it wakes the loop at once) or on schedule.
            while !Task.isCancelled {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { try? await Task.sleep(for: interval) }
                    if postgres != nil { group.addTask { await doorbell.wait() } }
                    await group.next()
                    group.cancelAll()
                }
                let changed = await withCheckedContinuation { continuation in
                    reads.async { continuation.resume(returning: watch.withLockedValue { $0.tick() }) }
                }
                if changed { onChange() }
            }
        }
    }

    public func stop() {
        task.cancel()
        listener?.cancel()
    }

    /// The listening connection: rings on every notification for `gateway` and on every (re)connection.
    private static func listen(
        to store: PostgresAllowListStore, gateway: String, doorbell: Doorbell, logger: Logger
    ) -> Task<Void, Never> {
        Task.detached {
            var delay = Duration.milliseconds(250)
            var up: Bool?
            while !Task.isCancelled {
                do {
                    try await store.listenForChanges(gateway: gateway) {
                        delay = .milliseconds(250)
                        if up != true {
                            logger.notice("listening for allow-list changes", metadata: ["gateway": "\(gateway)"])
                            up = true
                        }
                    } changed: {
                        doorbell.ring()
                    }
                } catch {
                    // The store may be down: the watcher finds out now, not at its next scheduled read.
                    doorbell.ring()
                    if up != false, !Task.isCancelled {
                        logger.warning("the allow-list change listener lost its connection: reconnecting", metadata: [
                            "gateway": "\(gateway)", "error": "\(store.describe(error).reason)",
                        ])
                        up = false
                    }
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(1))
            }
        }
    }

    /// Set by the listener, taken by the watch loop, which ``wait()`` wakes.
    final class Doorbell: Sendable {
        private struct State {
            var rung = false
            var waiter: CheckedContinuation<Void, Never>?
        }

        private let state = NIOLockedValueBox(State())

        func ring() {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                state.rung = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }

        func take() -> Bool {
            state.withLockedValue { state in
                defer { state.rung = false }
                return state.rung
            }
        }

        /// Returns once the bell has rung (at once if it has since the last ``take()``), or the task is cancelled.
        func wait() async {
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let now = state.withLockedValue { state -> Bool in
                        if state.rung || Task.isCancelled { return true }
                        state.waiter = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume()
            }
        }
    }

    /// One poll's work and what it remembers between polls.
    struct Watch {
        var store: any AllowListStore
        let state: AllowListState
        let health: StoreHealth
        let snapshot: String?
        let metrics: GatewayMetrics?
        let logger: Logger
        let doorbell: Doorbell
        var generation: Int64
        /// For a PostgreSQL store: when the version is read next without a notification, and the retry delay.
        var nextRead = ContinuousClock.now
        var retryDelay = Duration.milliseconds(250)
        /// Whether the snapshot on disk is the allow-list in force (false after a start from it, or a failed write).
        var snapshotWritten: Bool

        init(
            store: any AllowListStore, state: AllowListState, health: StoreHealth, snapshot: String? = nil,
            metrics: GatewayMetrics? = nil, logger: Logger, doorbell: Doorbell = Doorbell(), snapshotWritten: Bool = true
        ) {
            self.store = store
            self.state = state
            self.health = health
            self.snapshot = snapshot
            self.metrics = metrics
            self.logger = logger
            self.doorbell = doorbell
            self.snapshotWritten = snapshotWritten
            generation = state.generation
            metrics?.allowListVersion(state.version)
        }

        /// Reloads when needed; true when the allow-list in force changed (reload or expiry).
        mutating func tick(now: ContinuousClock.Instant = .now) -> Bool {
            if store is PostgresAllowListStore {
                let rung = doorbell.take()
                if rung || now >= nextRead { read(now: now) }
            } else {
                read(now: now)
            }
            let current = state.generation
            defer { generation = current }
            return current != generation
        }

        private mutating func read(now: ContinuousClock.Instant) {
            var replaced = false
            do {
                replaced = try reopenIfReplaced()
                let version = try store.version(gateway: state.gateway)
                if replaced || version != state.version || !snapshotWritten {
                    let entries = try store.entries(gateway: state.gateway)
                    if replaced || version != state.version {
                        state.replace(version: version, entries: entries)
                        metrics?.allowListVersion(version)
                        logger.info("allow-list reloaded", metadata: [
                            "gateway": "\(state.gateway)", "version": "\(version)", "entries": "\(entries.count)",
                        ])
                    }
                    writeSnapshot(version: version, entries: entries)
                }
                nextRead = now + .seconds(30)
                retryDelay = .milliseconds(250)
                if health.current() {
                    logger.notice("allow-list store readable again", metadata: [
                        "gateway": "\(state.gateway)", "version": "\(state.version)",
                    ])
                }
            } catch {
                nextRead = now + retryDelay
                retryDelay = min(retryDelay * 2, .seconds(1))
                let reason = (error as? AllowListError)?.reason ?? "\(error)"
                if health.stale(reason) {
                    logger.error("cannot read the allow-list store: enforcing the last allow-list read", metadata: [
                        "gateway": "\(state.gateway)", "version": "\(state.version)", "error": "\(reason)",
                    ])
                }
            }
        }

        private mutating func writeSnapshot(version: Int64, entries: [AllowListEntry]) {
            guard let snapshot else { return }
            do {
                try AllowListSnapshot(gateway: state.gateway, store: store.location, version: version, entries: entries)
                    .write(to: snapshot)
                snapshotWritten = true
            } catch {
                snapshotWritten = false
                logger.warning("cannot write the allow-list snapshot", metadata: [
                    "path": "\(snapshot)", "error": "\(error)",
                ])
            }
        }

        /// For an SQLite store: opens the file at the store's path when it is no longer the file that was opened.
        /// Throws while the path names no readable store (the current allow-list stays in force).
        private mutating func reopenIfReplaced() throws -> Bool {
            guard let sqlite = store as? SQLiteAllowListStore else { return false }
            guard let identity = StoreFileIdentity.of(sqlite.path) else {
                throw AllowListError.storeUnreadable("the store file is missing", path: sqlite.path)
            }
            guard identity != sqlite.fileIdentity else { return false }
            sqlite.close()
            store = try SQLiteAllowListStore(path: sqlite.path, mustExist: true)
            logger.notice("allow-list store file replaced: reopened", metadata: [
                "gateway": "\(state.gateway)", "path": "\(sqlite.path)",
            ])
            return true
        }
    }
}
