import Foundation
import GRDB

/// The embedded store: one SQLite file through GRDB on the system SQLite, in WAL mode with `synchronous=FULL`
/// (a change is on disk when the command returns), IMMEDIATE transactions and a 30-second busy timeout (so
/// concurrent `trustgate` processes queue instead of failing with "database is locked"), and versioned schema
/// migrations. A file that is not an SQLite database, or is cut short, is refused and never touched.
public final class SQLiteAllowListStore: AllowListStore {
    public let path: String
    public var location: String { path }
    public var kind: String { "sqlite" }
    public static var supportedSchemaVersion: Int { migrations.count }
    /// The file this store opened (a later replacement of the path is another file).
    public let fileIdentity: StoreFileIdentity?
    private let queue: DatabaseQueue

    /// Opens (or creates) the store at `path`. `createDirectory` creates a missing parent directory (0700), for
    /// the default location; `mustExist` refuses to create a store (a running gateway reopening its store
    /// after the file was replaced must not make an empty one).
    public init(path: String, createDirectory: Bool = false, mustExist: Bool = false) throws(AllowListError) {
        self.path = path
        if mustExist, !FileManager.default.fileExists(atPath: path) {
            throw .storeUnreadable("the store file does not exist", path: path)
        }
        try Self.checkExistingFile(path)
        let directory = (path as NSString).deletingLastPathComponent
        if createDirectory, !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
                )
            } catch {
                throw .storeUnwritable("cannot create the store directory: \(error.localizedDescription)", path: directory)
            }
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.journalMode = .wal
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            let queue = try Self.retryingBusy { try DatabaseQueue(path: path, configuration: configuration) }
            try Self.retryingBusy { try Self.migrate(queue) }
            self.queue = queue
            fileIdentity = StoreFileIdentity.of(path)
        } catch {
            throw Self.map(error, path: path)
        }
    }

    /// Closes the database connection now (not when the store is released). A gateway closes its store before
    /// opening the file that replaced it, so that SQLite lets go of the old file's `-wal` and `-shm` companions
    /// at that path instead of reading them as the new file's.
    public func close() {
        try? queue.close()
    }

    // MARK: Schema

    /// Schema versions, applied in order; the database's `user_version` says how many are in. Each runs inside
    /// one IMMEDIATE transaction that re-reads the version first, so concurrent processes opening a new store
    /// apply each migration exactly once (GRDB's own migrator reads its bookkeeping outside the write lock).
    private static let migrations: [(String, @Sendable (Database) throws -> Void)] = [
        ("gateways, entries, history", { db in
            try db.create(table: "gateway") { table in
                table.primaryKey("name", .text)
                table.column("version", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "entry") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("gateway", .text).notNull().references("gateway", onDelete: .cascade)
                table.column("name", .text).notNull()
                table.column("kind", .text).notNull()
                table.column("subject", .text)
                table.column("certificateSHA256", .text)
                table.column("spkiSHA256", .text).notNull()
                table.column("nextSPKISHA256", .text)
                table.column("certificatePEM", .text)
                table.column("certificateNotAfter", .datetime)
                table.column("expiresAt", .datetime)
                table.column("addedBy", .text).notNull()
                table.column("addedAt", .datetime).notNull()
                table.uniqueKey(["gateway", "name"])
            }
            try db.create(index: "entry_certificate", on: "entry", columns: ["gateway", "certificateSHA256"])
            try db.create(index: "entry_spki", on: "entry", columns: ["gateway", "spkiSHA256"])
            try db.create(table: "history") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("gateway", .text).notNull()
                table.column("at", .datetime).notNull()
                table.column("actor", .text).notNull()
                table.column("action", .text).notNull()
                table.column("entry", .text)
                table.column("detail", .text).notNull()
                table.column("version", .integer).notNull()
            }
            try db.create(index: "history_gateway", on: "history", columns: ["gateway", "id"])
        }),
    ]

    private static func migrate(_ queue: DatabaseQueue) throws {
        let current = try queue.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
        if current == migrations.count { return }
        if current > migrations.count {
            throw AllowListError.storeUnreadable(
                "the store has schema version \(current), newer than this trustgate (\(migrations.count))",
                path: queue.path, hint: "use a newer trustgate with this store"
            )
        }
        try queue.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                for index in version..<migrations.count {
                    try migrations[index].1(db)
                }
                try db.execute(sql: "PRAGMA user_version = \(migrations.count)")
                return .commit
            }
        }
    }

    // MARK: AllowListStore

    @discardableResult
    public func add(_ entry: AllowListEntry, ifVersion expected: Int64?) throws(AllowListError) -> Int64 {
        try write { db in
            try Self.require(expected, gateway: entry.gateway, db)
            try Self.insert(entry, db)
            return try Self.bump(entry.gateway, db, actor: entry.addedBy, action: "add", entry: entry.name,
                                 detail: entry.historyDetail)
        }
    }

    @discardableResult
    public func remove(gateway: String, selector: String, actor: String, ifVersion expected: Int64?)
        throws(AllowListError) -> AllowListEntry
    {
        let hex = AllowListEntry.fingerprintHex(selector)
        return try write { db in
            try Self.require(expected, gateway: gateway, db)
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT * FROM entry WHERE gateway = ? AND (name = ? OR certificateSHA256 = ? OR spkiSHA256 = ?)
                    ORDER BY name = ? DESC LIMIT 1
                    """,
                arguments: [gateway, selector, hex, hex, selector]
            )
            guard let row else {
                throw AllowListError.notFound(
                    "gateway \(gateway) has no entry named or fingerprinted \(selector)",
                    hint: "see `trustgate allowlist list --gateway \(gateway)`"
                )
            }
            let entry = Self.entry(row)
            try db.execute(sql: "DELETE FROM entry WHERE id = ?", arguments: [row["id"] as Int64])
            _ = try Self.bump(gateway, db, actor: actor, action: "remove", entry: entry.name,
                              detail: entry.historyDetail)
            return entry
        }
    }

    public func entries(gateway: String) throws(AllowListError) -> [AllowListEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM entry WHERE gateway = ? ORDER BY name", arguments: [gateway])
                .map(Self.entry)
        }
    }

    public func entry(gateway: String, fingerprint: String) throws(AllowListError) -> AllowListEntry? {
        let hex = AllowListEntry.fingerprintHex(fingerprint)
        return try read { db in
            let byCertificate = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM entry WHERE gateway = ? AND certificateSHA256 = ?"),
                arguments: [gateway, hex])
            let row = try byCertificate ?? Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM entry WHERE gateway = ? AND spkiSHA256 = ?"),
                arguments: [gateway, hex])
            return row.map(Self.entry)
        }
    }

    public func gateways() throws(AllowListError) -> [GatewaySummary] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT g.name, g.version, (SELECT COUNT(*) FROM entry e WHERE e.gateway = g.name) AS entries
                    FROM gateway g ORDER BY g.name
                    """
            ).map { GatewaySummary(name: $0["name"], version: $0["version"], entries: $0["entries"]) }
        }
    }

    public func version(gateway: String) throws(AllowListError) -> Int64 {
        try read { db in
            try Int64.fetchOne(db, sql: "SELECT version FROM gateway WHERE name = ?", arguments: [gateway]) ?? 0
        }
    }

    public func history(gateway: String?) throws(AllowListError) -> [HistoryRecord] {
        try read { db in
            let rows: [Row]
            if let gateway {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM history WHERE gateway = ? ORDER BY id", arguments: [gateway])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM history ORDER BY id")
            }
            return rows.map {
                HistoryRecord(gateway: $0["gateway"], at: $0["at"], actor: $0["actor"], action: $0["action"],
                              entry: $0["entry"], detail: $0["detail"], version: $0["version"])
            }
        }
    }

    @discardableResult
    public func importEntries(_ entries: [AllowListEntry], gateway: String, actor: String) throws(AllowListError) -> Int64 {
        try write { db in
            for entry in entries {
                var entry = entry
                entry.gateway = gateway
                try Self.insert(entry, db)
            }
            return try Self.bump(gateway, db, actor: actor, action: "import", entry: nil,
                                 detail: "\(entries.count) entr\(entries.count == 1 ? "y" : "ies")")
        }
    }

    public func restore(_ records: GatewayRecords) throws(AllowListError) {
        try write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM gateway WHERE name = ?", arguments: [records.gateway]) == true {
                throw AllowListError.refused(
                    "the target store already has gateway \(records.gateway)", hint: "copy into a store without it"
                )
            }
            try db.execute(sql: "INSERT INTO gateway (name, version) VALUES (?, ?)",
                           arguments: [records.gateway, records.version])
            for entry in records.entries {
                try Self.insert(entry, db)
            }
            for record in records.history {
                try db.execute(
                    sql: "INSERT INTO history (gateway, at, actor, action, entry, detail, version) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    arguments: [record.gateway, record.at, record.actor, record.action, record.entry, record.detail,
                                record.version]
                )
            }
        }
    }

    public func schemaVersion() throws(AllowListError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
    }

    /// SQLite's own consistency check of the whole file: `ok`, or what is wrong.
    public func integrityCheck() throws(AllowListError) -> String {
        try read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ")
        }
    }

    /// The number of entries of a gateway, counted in the database.
    public func count(gateway: String) throws(AllowListError) -> Int {
        try read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM entry WHERE gateway = ?", arguments: [gateway]) ?? 0
        }
    }

    // MARK: Transactions and errors

    private func write<T>(_ body: (Database) throws -> T) throws(AllowListError) -> T {
        do {
            return try Self.retryingBusy {
                try queue.writeWithoutTransaction { db in
                    var result: T?
                    try db.inTransaction(.immediate) {
                        result = try body(db)
                        return .commit
                    }
                    guard let result else { throw AllowListError.storeUnwritable("the transaction did not commit", path: path) }
                    return result
                }
            }
        } catch {
            throw Self.map(error, path: path)
        }
    }

    private func read<T>(_ body: (Database) throws -> T) throws(AllowListError) -> T {
        do {
            return try Self.retryingBusy { try queue.read(body) }
        } catch {
            throw Self.map(error, path: path)
        }
    }

    /// SQLITE_BUSY can still surface past the busy timeout in WAL edge cases (a snapshot made stale by another
    /// writer); such a transaction is simply run again, a bounded number of times.
    private static func retryingBusy<T>(_ body: () throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                return try body()
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempt < 20 {
                attempt += 1
                usleep(useconds_t(10_000 * attempt))
            }
        }
    }

    private static func map(_ error: any Error, path: String) -> AllowListError {
        if let error = error as? AllowListError { return error }
        guard let error = error as? DatabaseError else {
            return .storeUnwritable("\(error)", path: path)
        }
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return .storeUnreadable(
                "not a TrustGate store: the file is not an SQLite database or is corrupt", path: path,
                hint: "the file was left as it is; point --store at another file or restore a backup"
            )
        case .SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_FULL, .SQLITE_IOERR:
            return .storeUnwritable("cannot open or write the store: \(error.message ?? "\(error.resultCode)")", path: path)
        default:
            return .storeUnwritable("store error: \(error.message ?? "\(error.resultCode)")", path: path)
        }
    }

    /// The file's size and the size its header claims (page size × page count), when the header says.
    private static func sizes(_ path: String) -> (Int, Int)? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let header = Array((try? handle.read(upToCount: 100)) ?? Data())
        guard header.count == 100 else { return nil }
        var pageSize = Int(header[16]) << 8 | Int(header[17])
        if pageSize == 1 { pageSize = 65536 }
        let pages = header[28..<32].reduce(0) { $0 << 8 | Int($1) }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard pageSize > 0, pages > 0 else { return nil }
        return (size, pageSize * pages)
    }

    /// Refuses an existing file that is not an SQLite database, or is shorter than its own header says, before
    /// SQLite is allowed anywhere near it.
    private static func checkExistingFile(_ path: String) throws(AllowListError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
        guard !isDirectory.boolValue else {
            throw .storeUnreadable("the store path is a directory", path: path)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .storeUnwritable("the store file cannot be read (permissions)", path: path)
        }
        defer { try? handle.close() }
        let header = Array((try? handle.read(upToCount: 100)) ?? Data())
        // An empty file holds nothing to lose: it is what SQLite leaves while another process creates the store.
        if header.isEmpty { return }
        let magic = Array("SQLite format 3\u{0}".utf8)
        guard header.count == 100, Array(header.prefix(16)) == magic else {
            throw .storeUnreadable(
                "not a TrustGate store: the file is not an SQLite database", path: path,
                hint: "the file was left as it is; point --store at another file"
            )
        }
        // Shorter than its header says: cut off. Another process checkpointing the WAL writes page 1 before it
        // extends the file, so while a -wal file exists the check is repeated for up to two seconds.
        for attempt in 0..<100 {
            guard let (size, expected) = Self.sizes(path), size < expected else { return }
            let busy = FileManager.default.fileExists(atPath: path + "-wal")
            if attempt >= (busy ? 99 : 1) {
                throw .storeUnreadable(
                    "the store file is truncated: \(size) bytes, its header says \(expected)", path: path,
                    hint: "the file was left as it is; restore a backup"
                )
            }
            usleep(20_000)
        }
    }
}
