import Foundation
import Logging
import TrustGateAllowList

/// Polls the store's per-gateway version (one indexed read) and reloads the allow-list when it changes, so a
/// change made with `trustgate allowlist` is enforced within `interval` without a restart.
public final class AllowListWatcher: Sendable {
    private let task: Task<Void, Never>

    public init(
        store: any AllowListStore, state: AllowListState, interval: Duration = .milliseconds(250), logger: Logger,
        onChange: @escaping @Sendable (Int64) -> Void
    ) {
        task = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                do {
                    let version = try store.version(gateway: state.gateway)
                    guard version != state.version else { continue }
                    let entries = try store.entries(gateway: state.gateway)
                    state.replace(version: version, entries: entries)
                    logger.info("allow-list reloaded", metadata: [
                        "gateway": "\(state.gateway)", "version": "\(version)", "entries": "\(entries.count)",
                    ])
                    onChange(version)
                } catch {
                    logger.error("cannot read the allow-list store", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    public func stop() {
        task.cancel()
    }
}
