import Foundation
import Logging
import TrustGateAllowList

/// Polls the store's per-gateway version (one indexed read) and reloads the allow-list when it changes, so a
/// change made with `trustgate allowlist` is enforced within `interval` without a restart.
///
/// An SQLite store's file is watched too: when the path stops naming the file that was opened (deleted, or
/// replaced with `mv`), the old allow-list stays in force and the store is marked stale (``StoreHealth``); once
/// a readable store is at the path again it is opened and its allow-list enforced. Every change of that state
/// is logged once. An entry's expiry starts a new allow-list generation without a store change; the watcher
/// reports that too, so connections in use are re-judged.
public final class AllowListWatcher: Sendable {
    private let task: Task<Void, Never>

    init(
        store: any AllowListStore, state: AllowListState, health: StoreHealth, interval: Duration = .milliseconds(250),
        logger: Logger, onChange: @escaping @Sendable () -> Void
    ) {
        task = Task.detached {
            var watch = Watch(store: store, state: state, health: health, logger: logger)
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if watch.tick() { onChange() }
            }
        }
    }

    public func stop() {
        task.cancel()
    }

    /// One poll's work and what it remembers between polls.
    struct Watch {
        var store: any AllowListStore
        let state: AllowListState
        let health: StoreHealth
        let logger: Logger
        var generation: Int64

        init(store: any AllowListStore, state: AllowListState, health: StoreHealth, logger: Logger) {
            self.store = store
            self.state = state
            self.health = health
            self.logger = logger
            generation = state.generation
        }

        /// Reloads when needed; true when the allow-list in force changed (reload or expiry).
        mutating func tick() -> Bool {
            var replaced = false
            do {
                replaced = try reopenIfReplaced()
                let version = try store.version(gateway: state.gateway)
                if replaced || version != state.version {
                    let entries = try store.entries(gateway: state.gateway)
                    state.replace(version: version, entries: entries)
                    logger.info("allow-list reloaded", metadata: [
                        "gateway": "\(state.gateway)", "version": "\(version)", "entries": "\(entries.count)",
                    ])
                }
                if health.current() {
                    logger.notice("allow-list store readable again", metadata: ["gateway": "\(state.gateway)"])
                }
            } catch {
                let reason = "\(error)"
                if health.stale(reason) {
                    logger.error("cannot read the allow-list store: enforcing the last allow-list read", metadata: [
                        "gateway": "\(state.gateway)", "version": "\(state.version)", "error": "\(reason)",
                    ])
                }
            }
            let now = state.generation
            defer { generation = now }
            return now != generation
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
