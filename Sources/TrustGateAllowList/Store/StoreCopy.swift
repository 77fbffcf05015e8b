import Foundation

/// `trustgate store copy`: every gateway of one store into another (SQLite ↔ PostgreSQL), entries, versions and
/// history as they are, each gateway in one transaction, then read back and counted.
public enum StoreCopy {
    public struct Copied: Sendable, Codable, Equatable {
        public var gateway: String
        public var version: Int64
        public var entries: Int
        public var history: Int
    }

    /// Copies everything; refuses before writing anything when the target already has one of the gateways.
    /// Every gateway is read back from the target and must match the source's entries, version and history count.
    public static func copy(from source: any AllowListStore, to target: any AllowListStore) throws(AllowListError)
        -> [Copied]
    {
        let gateways = try source.gateways()
        let existing = Set(try target.gateways().map(\.name))
        if let clash = gateways.first(where: { existing.contains($0.name) }) {
            throw AllowListError.refused(
                "the target store already has gateway \(clash.name): nothing was copied",
                hint: "copy into an empty store, or remove the gateway there first"
            )
        }
        var copied: [Copied] = []
        for summary in gateways {
            let records = try source.records(gateway: summary.name)
            try target.restore(records)
            let back = try target.records(gateway: summary.name)
            guard back.version == records.version, back.entries == records.entries,
                back.history.count == records.history.count
            else {
                throw AllowListError.storeUnwritable(
                    "gateway \(summary.name) reads back differently from the target (\(back.entries.count) entries, "
                        + "version \(back.version), \(back.history.count) history records; the source has "
                        + "\(records.entries.count), \(records.version), \(records.history.count))",
                    path: target.location
                )
            }
            copied.append(Copied(gateway: summary.name, version: back.version, entries: back.entries.count,
                                 history: back.history.count))
        }
        return copied
    }
}

/// `trustgate store status`: which store, its schema, its gateways, and whether it answers.
public struct StoreStatus: Sendable, Codable {
    public var kind: String
    public var location: String
    public var reachable: Bool
    public var error: String?
    public var schemaVersion: Int?
    public var supportedSchemaVersion: Int
    public var gateways: [GatewaySummary]

    /// Reads the status of the store at `location` (as `--store` takes it); a store that cannot be reached or
    /// read is a status (`reachable: false` and why) plus the error, for the exit status.
    public static func read(_ location: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> (StoreStatus, AllowListError?)
    {
        let resolved = location ?? environment["TRUSTGATE_STORE"] ?? StoreLocation.defaultPath(environment: environment)
        let postgres = PostgresStoreURL.isPostgres(resolved)
        var status = StoreStatus(
            kind: postgres ? "postgres" : "sqlite",
            location: postgres ? ((try? PostgresStoreURL(resolved))?.description ?? "postgres://…") : resolved,
            reachable: false, error: nil, schemaVersion: nil,
            supportedSchemaVersion: postgres ? PostgresAllowListStore.supportedSchemaVersion
                : SQLiteAllowListStore.supportedSchemaVersion,
            gateways: []
        )
        do {
            let store = try StoreLocation.open(location, environment: environment, mustExist: true)
            status.location = store.location
            status.schemaVersion = try store.schemaVersion()
            status.gateways = try store.gateways()
            status.reachable = true
            (store as? PostgresAllowListStore)?.close()
            return (status, nil)
        } catch {
            status.error = "\(error.code): \(error.reason)"
            return (status, error)
        }
    }
}
