import Foundation
import Logging
import TrustGateAllowList

/// The allow-list a gateway starts with: the store's, written to the snapshot file; or, when a PostgreSQL store
/// cannot be reached, the snapshot's, with the store marked unreachable from the first moment. Without a
/// snapshot an unreachable store stops the start: a gateway never starts with an empty allow-list because its
/// store was down.
struct StartingAllowList {
    let state: AllowListState
    let status: StoreHealth.Status
    /// Where the snapshot is kept (nil: none, for an SQLite store without `store-snapshot`).
    let snapshotPath: String?
    let snapshotWritten: Bool

    static func snapshotPath(for configuration: GatewayConfiguration, store: any AllowListStore) -> String? {
        configuration.storeSnapshot
            ?? (store is PostgresAllowListStore ? AllowListSnapshot.defaultPath(gateway: configuration.gateway) : nil)
    }

    static func load(configuration: GatewayConfiguration, store: any AllowListStore, logger: Logger)
        throws(AllowListError) -> StartingAllowList
    {
        let gateway = configuration.gateway
        let path = snapshotPath(for: configuration, store: store)
        do {
            let state = try AllowListState.load(gateway: gateway, from: store)
            var written = true
            if let path {
                do {
                    try AllowListSnapshot(gateway: gateway, store: store.location, version: state.version,
                                          entries: state.entries).write(to: path)
                } catch {
                    written = false
                    logger.warning("cannot write the allow-list snapshot", metadata: ["path": "\(path)", "error": "\(error)"])
                }
            }
            return StartingAllowList(state: state, status: .current, snapshotPath: path, snapshotWritten: written)
        } catch where error.code == .storeUnreachable {
            guard let path else { throw error }
            guard let snapshot = try AllowListSnapshot.read(from: path, gateway: gateway) else {
                var error = error
                error.reason += ", and there is no allow-list snapshot at \(path) to start from"
                error.hint = "a gateway does not start with an empty allow-list: start it once while the store is reachable"
                throw error
            }
            logger.error("the allow-list store is unreachable: starting from the snapshot", metadata: [
                "gateway": "\(gateway)", "version": "\(snapshot.version)", "read-at": "\(snapshot.readAt)",
                "error": "\(error.reason)",
            ])
            let state = AllowListState(gateway: gateway, version: snapshot.version, entries: snapshot.entries)
            return StartingAllowList(
                state: state, status: .stale(since: Date(), reason: error.reason), snapshotPath: path, snapshotWritten: true
            )
        }
    }
}
