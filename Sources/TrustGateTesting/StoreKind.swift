/// The stores every allow-list test runs against: one suite, both stores (`@Test(arguments: StoreKind.allCases)`).
public enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres

    public var description: String { rawValue }

    /// A new, empty store's location: an SQLite file in `dir`, or a new database on the shared test cluster.
    public func location(in dir: TemporaryDirectory) throws -> String {
        switch self {
        case .sqlite: return dir.file("store.sqlite")
        case .postgres: return try TestPostgres.shared().newStoreURL()
        }
    }
}
