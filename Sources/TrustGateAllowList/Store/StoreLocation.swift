import Foundation

/// Resolves `--store URL` / `TRUSTGATE_STORE` / the default location to a store.
public enum StoreLocation {
    /// `$XDG_DATA_HOME/trustgate/store.sqlite`, falling back to `~/.local/share/trustgate/store.sqlite`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let base: String
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") {
            base = xdg
        } else {
            let home = environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
            base = (home as NSString).appendingPathComponent(".local/share")
        }
        return ((base as NSString).appendingPathComponent("trustgate") as NSString).appendingPathComponent("store.sqlite")
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
        var path = location
        for prefix in ["sqlite://", "sqlite:"] where path.hasPrefix(prefix) {
            path = String(path.dropFirst(prefix.count))
            break
        }
        return try SQLiteAllowListStore(
            path: path, createDirectory: url == nil && environment["TRUSTGATE_STORE"] == nil, mustExist: mustExist
        )
    }
}
