import Foundation

/// Where allow-lists live. The SQLite store is the embedded default; a PostgreSQL store for fleets implements
/// the same protocol. Every mutating call is one transaction, durable when it returns.
public protocol AllowListStore: Sendable {
    /// Where the store is, for people: a path, or a `postgres://` URL without secrets.
    var location: String { get }

    /// `sqlite` or `postgres`.
    var kind: String { get }

    /// The schema version the store holds (this build writes ``supportedSchemaVersion``).
    func schemaVersion() throws(AllowListError) -> Int

    /// Adds an entry, refusing a duplicate (`already registered as NAME`) or a name in use. Returns the gateway's new
    /// allow-list version. With `ifVersion`, only while the gateway's allow-list is at that version (0: no list
    /// yet), refused otherwise: the check and the write are one transaction.
    @discardableResult
    func add(_ entry: AllowListEntry, ifVersion: Int64?) throws(AllowListError) -> Int64

    /// Removes the entry whose name, certificate SHA-256 or SPKI SHA-256 (hex, or a `sha256/` pin) is `selector`;
    /// with `ifVersion`, as `add` says.
    @discardableResult
    func remove(gateway: String, selector: String, actor: String, ifVersion: Int64?) throws(AllowListError)
        -> AllowListEntry

    /// A gateway's entries, by name.
    func entries(gateway: String) throws(AllowListError) -> [AllowListEntry]

    /// The entry with this certificate or SPKI SHA-256 (hex), through the index.
    func entry(gateway: String, fingerprint: String) throws(AllowListError) -> AllowListEntry?

    /// Every gateway with its version and entry count.
    func gateways() throws(AllowListError) -> [GatewaySummary]

    /// The gateway's allow-list version: 0 for an unknown gateway; increases on every change.
    func version(gateway: String) throws(AllowListError) -> Int64

    /// The audit trail, oldest first; all gateways when `gateway` is nil.
    func history(gateway: String?) throws(AllowListError) -> [HistoryRecord]

    /// Adds every entry in one transaction: all or nothing. Returns the new version.
    @discardableResult
    func importEntries(_ entries: [AllowListEntry], gateway: String, actor: String) throws(AllowListError) -> Int64

    /// Writes a gateway's entries, version and history as they are in another store (`store copy`), in one
    /// transaction; refused when this store already has the gateway.
    func restore(_ records: GatewayRecords) throws(AllowListError)
}

extension AllowListStore {
    /// Everything the store holds for `gateway`, read in one go (version first, as ``AllowListState`` reads).
    public func records(gateway: String) throws(AllowListError) -> GatewayRecords {
        let version = try version(gateway: gateway)
        return GatewayRecords(
            gateway: gateway, version: version, entries: try entries(gateway: gateway), history: try history(gateway: gateway)
        )
    }

    /// Adds an entry, whatever the allow-list's version.
    @discardableResult
    public func add(_ entry: AllowListEntry) throws(AllowListError) -> Int64 {
        try add(entry, ifVersion: nil)
    }

    /// Removes an entry, whatever the allow-list's version.
    @discardableResult
    public func remove(gateway: String, selector: String, actor: String) throws(AllowListError) -> AllowListEntry {
        try remove(gateway: gateway, selector: selector, actor: actor, ifVersion: nil)
    }
}
