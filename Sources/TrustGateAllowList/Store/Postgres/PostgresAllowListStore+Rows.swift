import Foundation
import PostgresNIO

/// Entries and history as rows; the gateway-row lock, version check, bump and notification of a change.
extension PostgresAllowListStore {
    static let entryColumns = """
        gateway, name, kind, subject, certificate_sha256, spki_sha256, next_spki_sha256, certificate_pem,
        certificate_not_after, expires_at, added_by, added_at
        """

    static func entry(_ row: PostgresRow) throws -> AllowListEntry {
        let (gateway, name, kind, subject, certificate, spki, next, pem, notAfter, expiresAt, addedBy, addedAt) =
            try row.decode(
                (String, String, String, String?, String?, String, String?, String?, Date?, Date?, String, Date).self
            )
        guard let kind = EntryKind(rawValue: kind) else {
            throw AllowListError.storeUnreadable("entry \(name) of gateway \(gateway) has an unknown kind \(kind)", path: "")
        }
        return AllowListEntry(
            gateway: gateway, name: name, kind: kind, subject: subject, certificateSHA256: certificate, spkiSHA256: spki,
            nextSPKISHA256: next, certificatePEM: pem, certificateNotAfter: notAfter, expiresAt: expiresAt,
            addedBy: addedBy, addedAt: addedAt
        )
    }

    /// Creates the gateway's row if needed and locks it for the rest of the transaction: every writer of this
    /// gateway, on any host, waits here for the one before it to commit. Refuses the change when `expected` is
    /// given and is not the version.
    static func lockGateway(_ gateway: String, expected: Int64?, _ session: PostgresSession) throws {
        try session.execute("INSERT INTO trustgate_gateway (name, version) VALUES (\(gateway), 0) ON CONFLICT DO NOTHING")
        let current = try session.query(
            "SELECT version FROM trustgate_gateway WHERE name = \(gateway) FOR UPDATE"
        ).first?.decode(Int64.self) ?? 0
        if let expected, current != expected {
            throw AllowListError.versionConflict(
                "the allow-list of gateway \(gateway) is at version \(current), not \(expected): it changed meanwhile",
                hint: "look again (allowlist plan) and retry"
            )
        }
    }

    static func refuseDuplicate(_ entry: AllowListEntry, _ session: PostgresSession) throws {
        let existing: String?
        if entry.kind == .spkiPin {
            existing = try session.query(
                """
                SELECT name FROM trustgate_entry
                WHERE gateway = \(entry.gateway) AND kind = \(entry.kind.rawValue) AND spki_sha256 = \(entry.spkiSHA256)
                LIMIT 1
                """
            ).first?.decode(String.self)
        } else {
            let fingerprint = entry.certificateSHA256 ?? entry.spkiSHA256
            existing = try session.query(
                """
                SELECT name FROM trustgate_entry
                WHERE gateway = \(entry.gateway) AND kind = \(entry.kind.rawValue) AND certificate_sha256 = \(fingerprint)
                LIMIT 1
                """
            ).first?.decode(String.self)
        }
        let nameTaken = try session.query(
            "SELECT 1 FROM trustgate_entry WHERE gateway = \(entry.gateway) AND name = \(entry.name)"
        ).first != nil
        try DuplicateIndex.refuse(entry, existingName: existing, nameTaken: nameTaken)
    }

    /// Inserts entries, up to 1,000 rows per statement.
    static func insert(_ entries: [AllowListEntry], _ session: PostgresSession) throws {
        try insertBatched(entries, into: "trustgate_entry (\(entryColumns))", columns: 12, session) { entry, binds in
            binds.append(entry.gateway)
            binds.append(entry.name)
            binds.append(entry.kind.rawValue)
            binds.append(entry.subject)
            binds.append(entry.certificateSHA256)
            binds.append(entry.spkiSHA256)
            binds.append(entry.nextSPKISHA256)
            binds.append(entry.certificatePEM)
            binds.append(entry.certificateNotAfter)
            binds.append(entry.expiresAt)
            binds.append(entry.addedBy)
            binds.append(entry.addedAt)
        }
    }

    /// Appends history records as they are, up to 1,000 per statement.
    static func insert(_ history: [HistoryRecord], _ session: PostgresSession) throws {
        let target = "trustgate_history (gateway, at, actor, action, entry, detail, version)"
        try insertBatched(history, into: target, columns: 7, session) { record, binds in
            binds.append(record.gateway)
            binds.append(record.at)
            binds.append(record.actor)
            binds.append(record.action)
            binds.append(record.entry)
            binds.append(record.detail)
            binds.append(record.version)
        }
    }

    /// `INSERT INTO TARGET VALUES (…), (…)`, 1,000 rows per statement (at 12 columns, 12,000 parameters: under the
    /// protocol's 65,535); `bind` appends exactly `columns` values per row.
    private static func insertBatched<Row>(
        _ rows: [Row], into target: String, columns: Int, _ session: PostgresSession,
        bind: (Row, inout PostgresBindings) -> Void
    ) throws {
        for start in stride(from: 0, to: rows.count, by: 1_000) {
            let batch = rows[start..<min(start + 1_000, rows.count)]
            var binds = PostgresBindings(capacity: batch.count * columns)
            var values: [String] = []
            values.reserveCapacity(batch.count)
            for (index, row) in batch.enumerated() {
                values.append("(" + (1...columns).map { "$\(index * columns + $0)" }.joined(separator: ",") + ")")
                bind(row, &binds)
            }
            try session.execute(
                PostgresQuery(unsafeSQL: "INSERT INTO \(target) VALUES " + values.joined(separator: ","), binds: binds)
            )
        }
    }

    /// Bumps the (locked) gateway's version, appends the history record and notifies listeners at commit.
    static func bump(
        _ gateway: String, _ session: PostgresSession, actor: String, action: String, entry: String?, detail: String
    ) throws -> Int64 {
        guard let version = try session.query(
            "UPDATE trustgate_gateway SET version = version + 1 WHERE name = \(gateway) RETURNING version"
        ).first?.decode(Int64.self) else {
            throw AllowListError.storeUnwritable("gateway \(gateway) vanished during the change", path: session.target)
        }
        try session.execute(
            """
            INSERT INTO trustgate_history (gateway, at, actor, action, entry, detail, version)
            VALUES (\(gateway), \(Date()), \(actor), \(action), \(entry), \(detail), \(version))
            """
        )
        try notify(gateway, version: version, session)
        return version
    }

    /// `NOTIFY trustgate_allowlist, 'GATEWAY:VERSION'`, delivered when (and only if) the transaction commits.
    static func notify(_ gateway: String, version: Int64, _ session: PostgresSession) throws {
        try session.execute("SELECT pg_notify(\(channel), \("\(gateway):\(version)"))")
    }
}
