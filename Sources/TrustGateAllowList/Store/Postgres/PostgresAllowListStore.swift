import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// The fleet store: the same entries, versions, history and refusals as ``SQLiteAllowListStore``, in a PostgreSQL
/// database that many gateways and writers share.
///
/// Every change is one transaction that first locks the gateway's row (`SELECT … FOR UPDATE`), so concurrent
/// writers on any host queue on that one row: the duplicate checks, the version check of `ifVersion`, the
/// version bump and the history row are decided by one writer at a time, and versions are contiguous. The same
/// transaction sends `NOTIFY trustgate_allowlist, 'GATEWAY:VERSION'`, delivered to listening gateways when it
/// commits and never otherwise. A serialization failure or deadlock reported by the server is retried, a
/// bounded number of times. Schema migrations run under a transaction-scoped advisory lock, so several
/// processes opening a new database at once apply each exactly once.
///
/// The protocol is synchronous, as the SQLite store's is: each call waits for its queries on postgres-nio's
/// event loop, and must not be made from an event loop thread.
public final class PostgresAllowListStore: AllowListStore, @unchecked Sendable {
    public let url: PostgresStoreURL
    public var location: String { url.description }
    public var kind: String { "postgres" }
    let connector: PostgresConnector
    private let lock = NIOLock()
    private var connection: PostgresConnection?
    /// Whether this process has run the migrations (on its first connection).
    private var migrated = false
    let logger: Logger

    /// The notification channel writers signal on.
    public static let channel = "trustgate_allowlist"

    /// Opens the store: connects, verifies the server and migrates the schema now, or with `lazily` on the
    /// first call (a gateway starting while PostgreSQL is down still gets a store, which reconnects later).
    public init(
        url: PostgresStoreURL, environment: [String: String] = ProcessInfo.processInfo.environment, lazily: Bool = false
    ) throws(AllowListError) {
        self.url = url
        connector = try PostgresConnector(url: url, environment: environment)
        var logger = Logger(label: "trustgate.store.postgres")
        logger.logLevel = .critical
        self.logger = logger
        if !lazily {
            try withSession { _ in }
        }
    }

    deinit {
        if let connection {
            connection.close().whenComplete { _ in _ = connection }
        }
    }

    /// Closes the store's connection now (a later call opens a new one).
    public func close() {
        lock.withLock {
            if let connection {
                _ = try? connection.close().wait()
            }
            connection = nil
        }
    }

    /// Holds one connection of its own (verified and authenticated as the store's) listening on
    /// ``channel``: calls `listening` once the `LISTEN` is in place, then `changed` for every notification of
    /// `gateway`'s changes and once right away (a change made while no one listened was not notified: the caller
    /// reads the version). Returns or throws when the connection is lost; cancel the task to stop.
    public func listenForChanges(
        gateway: String, listening: () -> Void, changed: @Sendable () -> Void
    ) async throws {
        let connection = try await connector.connectFuture().get()
        defer { connection.close().whenComplete { _ in _ = connection } }
        try await connection.listen(on: Self.channel) { notifications in
            listening()
            changed()
            for try await notification in notifications where notification.payload.hasPrefix(gateway + ":") {
                changed()
            }
        }
    }

    /// Why a connection attempt failed, in the store's words.
    public func describe(_ error: any Error) -> AllowListError {
        connector.describe(error)
    }

    // MARK: Schema

    private static let migrations: [[String]] = [
        [
            "CREATE TABLE trustgate_gateway (name text PRIMARY KEY, version bigint NOT NULL DEFAULT 0)",
            """
            CREATE TABLE trustgate_entry (
                id bigserial PRIMARY KEY,
                gateway text NOT NULL REFERENCES trustgate_gateway (name) ON DELETE CASCADE,
                name text NOT NULL, kind text NOT NULL, subject text, certificate_sha256 text,
                spki_sha256 text NOT NULL, next_spki_sha256 text, certificate_pem text,
                certificate_not_after timestamptz, expires_at timestamptz,
                added_by text NOT NULL, added_at timestamptz NOT NULL,
                UNIQUE (gateway, name))
            """,
            "CREATE INDEX trustgate_entry_certificate ON trustgate_entry (gateway, certificate_sha256)",
            "CREATE INDEX trustgate_entry_spki ON trustgate_entry (gateway, spki_sha256)",
            """
            CREATE TABLE trustgate_history (
                id bigserial PRIMARY KEY, gateway text NOT NULL, at timestamptz NOT NULL, actor text NOT NULL,
                action text NOT NULL, entry text, detail text NOT NULL, version bigint NOT NULL)
            """,
            "CREATE INDEX trustgate_history_gateway ON trustgate_history (gateway, id)",
        ],
    ]

    /// The schema version this build writes.
    public static var supportedSchemaVersion: Int { migrations.count }

    private static func migrate(_ session: PostgresSession) throws {
        try session.transaction {
            // One lock for every TrustGate process on this database: 0x7472_7573_7467_6174 is "trustgat".
            try session.execute("SELECT pg_advisory_xact_lock(8390891539483976052)")
            try session.execute("CREATE TABLE IF NOT EXISTS trustgate_schema (version integer NOT NULL)")
            let rows = try session.query("SELECT version FROM trustgate_schema")
            var current = 0
            if let row = rows.first {
                current = Int(try row.decode(Int32.self))
            } else {
                try session.execute("INSERT INTO trustgate_schema (version) VALUES (0)")
            }
            if current > migrations.count {
                throw AllowListError.storeUnreadable(
                    "the store has schema version \(current), newer than this trustgate (\(migrations.count))",
                    path: session.target, hint: "use a newer trustgate with this store"
                )
            }
            for index in current..<migrations.count {
                for statement in migrations[index] {
                    try session.execute(PostgresQuery(unsafeSQL: statement))
                }
            }
            let version = Int32(migrations.count)
            try session.execute("UPDATE trustgate_schema SET version = \(version)")
        }
    }

    /// The schema version of the database.
    public func schemaVersion() throws(AllowListError) -> Int {
        try withSession { session in
            Int(try session.query("SELECT version FROM trustgate_schema").first?.decode(Int32.self) ?? 0)
        }
    }

    // MARK: AllowListStore

    @discardableResult
    public func add(_ entry: AllowListEntry, ifVersion expected: Int64?) throws(AllowListError) -> Int64 {
        try write { session in
            try Self.lockGateway(entry.gateway, expected: expected, session)
            try Self.refuseDuplicate(entry, session)
            try Self.insert([entry], session)
            return try Self.bump(
                entry.gateway, session, actor: entry.addedBy, action: "add", entry: entry.name, detail: entry.historyDetail
            )
        }
    }

    @discardableResult
    public func remove(gateway: String, selector: String, actor: String, ifVersion expected: Int64?)
        throws(AllowListError) -> AllowListEntry
    {
        let hex = AllowListEntry.fingerprintHex(selector)
        return try write { session in
            try Self.lockGateway(gateway, expected: expected, session)
            let rows = try session.query(
                """
                SELECT \(unescaped: Self.entryColumns) FROM trustgate_entry
                WHERE gateway = \(gateway) AND (name = \(selector) OR certificate_sha256 = \(hex) OR spki_sha256 = \(hex))
                ORDER BY name = \(selector) DESC LIMIT 1
                """
            )
            guard let row = rows.first else {
                throw AllowListError.notFound(
                    "gateway \(gateway) has no entry named or fingerprinted \(selector)",
                    hint: "see `trustgate allowlist list --gateway \(gateway)`"
                )
            }
            let entry = try Self.entry(row)
            try session.execute("DELETE FROM trustgate_entry WHERE gateway = \(gateway) AND name = \(entry.name)")
            _ = try Self.bump(gateway, session, actor: actor, action: "remove", entry: entry.name, detail: entry.historyDetail)
            return entry
        }
    }

    public func entries(gateway: String) throws(AllowListError) -> [AllowListEntry] {
        try read { session in
            try session.query(
                "SELECT \(unescaped: Self.entryColumns) FROM trustgate_entry WHERE gateway = \(gateway) ORDER BY name"
            ).map(Self.entry)
        }
    }

    public func entry(gateway: String, fingerprint: String) throws(AllowListError) -> AllowListEntry? {
        let hex = AllowListEntry.fingerprintHex(fingerprint)
        return try read { session in
            let byCertificate = try session.query(
                """
                SELECT \(unescaped: Self.entryColumns) FROM trustgate_entry
                WHERE gateway = \(gateway) AND certificate_sha256 = \(hex) LIMIT 1
                """
            ).first
            let row = try byCertificate ?? session.query(
                """
                SELECT \(unescaped: Self.entryColumns) FROM trustgate_entry
                WHERE gateway = \(gateway) AND spki_sha256 = \(hex) LIMIT 1
                """
            ).first
            return try row.map(Self.entry)
        }
    }

    public func gateways() throws(AllowListError) -> [GatewaySummary] {
        try read { session in
            try session.query(
                """
                SELECT g.name, g.version, (SELECT COUNT(*) FROM trustgate_entry e WHERE e.gateway = g.name)
                FROM trustgate_gateway g ORDER BY g.name
                """
            ).map { row in
                let (name, version, count) = try row.decode((String, Int64, Int64).self)
                return GatewaySummary(name: name, version: version, entries: Int(count))
            }
        }
    }

    public func version(gateway: String) throws(AllowListError) -> Int64 {
        try read { session in
            try session.query("SELECT version FROM trustgate_gateway WHERE name = \(gateway)").first?.decode(Int64.self) ?? 0
        }
    }

    public func history(gateway: String?) throws(AllowListError) -> [HistoryRecord] {
        try read { session in
            let columns = "gateway, at, actor, action, entry, detail, version"
            let rows = if let gateway {
                try session.query(
                    "SELECT \(unescaped: columns) FROM trustgate_history WHERE gateway = \(gateway) ORDER BY id"
                )
            } else {
                try session.query("SELECT \(unescaped: columns) FROM trustgate_history ORDER BY id")
            }
            return try rows.map { row in
                let (gateway, at, actor, action, entry, detail, version) = try row.decode(
                    (String, Date, String, String, String?, String, Int64).self
                )
                return HistoryRecord(
                    gateway: gateway, at: at, actor: actor, action: action, entry: entry, detail: detail, version: version
                )
            }
        }
    }

    @discardableResult
    public func importEntries(_ entries: [AllowListEntry], gateway: String, actor: String) throws(AllowListError) -> Int64 {
        let entries = entries.map { entry in
            var entry = entry
            entry.gateway = gateway
            return entry
        }
        return try write { session in
            try Self.lockGateway(gateway, expected: nil, session)
            var taken = try DuplicateIndex(
                session.query(
                    "SELECT name, kind, certificate_sha256, spki_sha256 FROM trustgate_entry WHERE gateway = \(gateway)"
                ).map { row in try row.decode((String, String, String?, String).self) }
            )
            for entry in entries {
                try taken.admit(entry)
            }
            try Self.insert(entries, session)
            return try Self.bump(
                gateway, session, actor: actor, action: "import", entry: nil,
                detail: "\(entries.count) entr\(entries.count == 1 ? "y" : "ies")"
            )
        }
    }

    public func restore(_ snapshot: GatewayRecords) throws(AllowListError) {
        try write { session in
            let existing = try session.query("SELECT 1 FROM trustgate_gateway WHERE name = \(snapshot.gateway)")
            guard existing.first == nil else {
                throw AllowListError.refused(
                    "the target store already has gateway \(snapshot.gateway)", hint: "copy into a store without it"
                )
            }
            try session.execute(
                "INSERT INTO trustgate_gateway (name, version) VALUES (\(snapshot.gateway), \(snapshot.version))"
            )
            try Self.insert(snapshot.entries, session)
            try Self.insert(snapshot.history, session)
            try Self.notify(snapshot.gateway, version: snapshot.version, session)
        }
    }

    // MARK: Sessions

    /// Runs `body` on the store's connection, opening one when there is none or the last one was lost. A call
    /// that fails because the connection broke leaves no connection behind: the next call opens a new one.
    func withSession<T>(_ body: (PostgresSession) throws -> T) throws(AllowListError) -> T {
        do {
            return try withConnection(body)
        } catch {
            throw map(error)
        }
    }

    private func withConnection<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        try lock.withLock {
            if let connection, connection.isClosed {
                connection.close().whenComplete { _ in _ = connection }
                self.connection = nil
            }
            let connection: PostgresConnection
            if let existing = self.connection {
                connection = existing
            } else {
                connection = try connector.connect()
                self.connection = connection
                if !migrated {
                    do {
                        try Self.migrate(session(connection))
                    } catch {
                        connection.close().whenComplete { _ in _ = connection }
                        self.connection = nil
                        throw error
                    }
                    migrated = true
                }
            }
            do {
                return try body(session(connection))
            } catch {
                if connection.isClosed || PostgresSession.isConnectionFailure(error) {
                    connection.close().whenComplete { _ in _ = connection }
                    self.connection = nil
                }
                throw error
            }
        }
    }

    private func session(_ connection: PostgresConnection) -> PostgresSession {
        PostgresSession(
            connection: connection, logger: logger, target: url.description,
            statementTimeout: .seconds(Int64(url.statementTimeout))
        )
    }

    private func read<T>(_ body: (PostgresSession) throws -> T) throws(AllowListError) -> T {
        try withSession(body)
    }

    /// One write transaction, run again (at most 10 times) when the server reports a serialization failure or a
    /// deadlock.
    private func write<T>(_ body: (PostgresSession) throws -> T) throws(AllowListError) -> T {
        var attempt = 0
        while true {
            do {
                return try withConnection { session in try session.transaction { try body(session) } }
            } catch where PostgresSession.isRetryable(error) && attempt < 10 {
                attempt += 1
                usleep(useconds_t(5_000 * attempt))
            } catch {
                throw map(error)
            }
        }
    }

    private func map(_ error: any Error) -> AllowListError {
        if let error = error as? AllowListError { return error }
        if let error = error as? PSQLError, error.code == .server, let state = error.serverInfo?[.sqlState] {
            let message = error.serverInfo?[.message] ?? state
            if state == "23505" {
                return .refused("the change conflicts with an entry written meanwhile: \(message)", hint: "retry")
            }
            return .storeUnwritable("PostgreSQL error \(state): \(message)", path: url.description)
        }
        return connector.describe(error)
    }
}
