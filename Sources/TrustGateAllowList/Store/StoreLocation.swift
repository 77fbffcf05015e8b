import Foundation

/// Resolves `--store URL` / `TRUSTGATE_STORE` / the default location to a store.
public enum StoreLocation {
    /// `$XDG_DATA_HOME/trustgate/store.sqlite`, falling back to `~/.local/share/trustgate/store.sqlite`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        (baseDirectory("XDG_DATA_HOME", else: ".local/share", environment: environment) as NSString)
            .appendingPathComponent("trustgate/store.sqlite")
    }

    /// An XDG base directory: `$VARIABLE` when it is an absolute path, else `~/FALLBACK`.
    public static func baseDirectory(
        _ variable: String, else fallback: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        if let value = environment[variable], value.hasPrefix("/") { return value }
        let home = environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
        return (home as NSString).appendingPathComponent(fallback)
    }

    /// The file an SQLite location names: the path, less a `sqlite://` or `sqlite:` prefix.
    public static func sqlitePath(_ location: String) -> String {
        for prefix in ["sqlite://", "sqlite:"] where location.hasPrefix(prefix) {
            return String(location.dropFirst(prefix.count))
        }
        return location
    }

    /// Opens the store a URL names: a path, `sqlite:PATH` / `sqlite://PATH`, or `postgres://…` (the fleet store,
    /// ``PostgresStoreURL`` says how). A PostgreSQL store is connected to at once, or with `lazily` on first use;
    /// an SQLite file is created when missing unless `mustExist` (a store to read from is never made empty).
    public static func open(
        _ url: String?, environment: [String: String] = ProcessInfo.processInfo.environment, lazily: Bool = false,
        mustExist: Bool = false
    ) throws(AllowListError) -> any AllowListStore {
        let location = url ?? environment["TRUSTGATE_STORE"] ?? defaultPath(environment: environment)
        if PostgresStoreURL.isPostgres(location) {
            return try PostgresAllowListStore(url: PostgresStoreURL(location), environment: environment, lazily: lazily)
        }
        return try SQLiteAllowListStore(
            path: sqlitePath(location), createDirectory: url == nil && environment["TRUSTGATE_STORE"] == nil, mustExist: mustExist
        )
    }
}
