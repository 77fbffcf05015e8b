import Foundation

/// One line of the audit trail: who changed which gateway's allow-list, when, and how.
public struct HistoryRecord: Hashable, Sendable, Codable {
    public var gateway: String
    public var at: Date
    public var actor: String
    /// `add`, `remove` or `import`.
    public var action: String
    /// The entry concerned.
    public var entry: String?
    /// Kind and fingerprint of the entry, or what was imported.
    public var detail: String
    /// The gateway's allow-list version after the change.
    public var version: Int64

    public init(gateway: String, at: Date, actor: String, action: String, entry: String?, detail: String, version: Int64) {
        self.gateway = gateway
        self.at = at
        self.actor = actor
        self.action = action
        self.entry = entry
        self.detail = detail
        self.version = version
    }
}

/// A gateway known to the store.
public struct GatewaySummary: Hashable, Sendable, Codable {
    public var name: String
    /// Increases on every change of the gateway's allow-list.
    public var version: Int64
    public var entries: Int

    public init(name: String, version: Int64, entries: Int) {
        self.name = name
        self.version = version
        self.entries = entries
    }
}

/// Everything a store holds for one gateway: what `store copy` moves from one store to another, verbatim.
public struct GatewayRecords: Sendable {
    public var gateway: String
    public var version: Int64
    public var entries: [AllowListEntry]
    public var history: [HistoryRecord]

    public init(gateway: String, version: Int64, entries: [AllowListEntry], history: [HistoryRecord]) {
        self.gateway = gateway
        self.version = version
        self.entries = entries
        self.history = history
    }
}
