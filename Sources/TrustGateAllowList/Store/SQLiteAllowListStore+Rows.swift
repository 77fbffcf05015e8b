import Foundation
import GRDB

/// Entries as rows: inserting one, reading one back, and the version checks and bumps of a change.
extension SQLiteAllowListStore {
    static func insert(_ entry: AllowListEntry, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO gateway (name, version) VALUES (?, 0)")
            .execute(arguments: [entry.gateway])
        let fingerprint = entry.kind == .spkiPin ? entry.spkiSHA256 : (entry.certificateSHA256 ?? entry.spkiSHA256)
        let column = entry.kind == .spkiPin ? "spkiSHA256" : "certificateSHA256"
        let existing = try String.fetchOne(
            db.cachedStatement(sql: "SELECT name FROM entry WHERE gateway = ? AND kind = ? AND \(column) = ?"),
            arguments: [entry.gateway, entry.kind.rawValue, fingerprint])
        let nameTaken = try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM entry WHERE gateway = ? AND name = ?"),
                                          arguments: [entry.gateway, entry.name]) == true
        try DuplicateIndex.refuse(entry, existingName: existing, nameTaken: nameTaken)
        try db.cachedStatement(
            sql: """
                INSERT INTO entry (gateway, name, kind, subject, certificateSHA256, spkiSHA256, nextSPKISHA256,
                    certificatePEM, certificateNotAfter, expiresAt, addedBy, addedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                entry.gateway, entry.name, entry.kind.rawValue, entry.subject, entry.certificateSHA256, entry.spkiSHA256,
                entry.nextSPKISHA256, entry.certificatePEM, entry.certificateNotAfter, entry.expiresAt, entry.addedBy,
                entry.addedAt,
            ]
        )
    }

    /// Refuses the change when the gateway's allow-list is not at `expected` (inside the write transaction, which
    /// SQLite holds exclusively from its first statement: no other writer can come between).
    static func require(_ expected: Int64?, gateway: String, _ db: Database) throws {
        guard let expected else { return }
        let current = try Int64.fetchOne(db, sql: "SELECT version FROM gateway WHERE name = ?", arguments: [gateway]) ?? 0
        guard current == expected else {
            throw AllowListError.versionConflict(
                "the allow-list of gateway \(gateway) is at version \(current), not \(expected): it changed meanwhile",
                hint: "look again (allowlist plan) and retry"
            )
        }
    }

    static func bump(
        _ gateway: String, _ db: Database, actor: String, action: String, entry: String?, detail: String
    ) throws -> Int64 {
        try db.execute(sql: "INSERT OR IGNORE INTO gateway (name, version) VALUES (?, 0)", arguments: [gateway])
        try db.execute(sql: "UPDATE gateway SET version = version + 1 WHERE name = ?", arguments: [gateway])
        let version = try Int64.fetchOne(db, sql: "SELECT version FROM gateway WHERE name = ?", arguments: [gateway]) ?? 0
        try db.execute(
            sql: "INSERT INTO history (gateway, at, actor, action, entry, detail, version) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [gateway, Date(), actor, action, entry, detail, version]
        )
        return version
    }

    static func entry(_ row: Row) -> AllowListEntry {
        AllowListEntry(
            gateway: row["gateway"], name: row["name"], kind: EntryKind(rawValue: row["kind"]) ?? .pinned,
            subject: row["subject"], certificateSHA256: row["certificateSHA256"], spkiSHA256: row["spkiSHA256"],
            nextSPKISHA256: row["nextSPKISHA256"], certificatePEM: row["certificatePEM"],
            certificateNotAfter: row["certificateNotAfter"], expiresAt: row["expiresAt"], addedBy: row["addedBy"],
            addedAt: row["addedAt"]
        )
    }
}
