/// The fuzz entry point for the store URL and `.pgpass` parsers: the first line is a store URL, the rest a
/// password file looked up for it. Every input returns; a parsed URL must describe itself as one that parses to
/// the same host, port, user and database.
@_spi(Fuzzing)
public enum StoreURLFuzz {
    public static func fuzz(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let url = try? PostgresStoreURL(String(first)) else { return }
        if url.user.allSatisfy({ $0.isLetter || $0.isNumber }), url.database.allSatisfy({ $0.isLetter || $0.isNumber }) {
            guard let again = try? PostgresStoreURL(url.description + "?sslmode=disable"),
                again.host == url.host, again.port == url.port, again.user == url.user, again.database == url.database
            else { preconditionFailure("\(url) does not parse back to itself") }
        }
        if parts.count > 1 {
            _ = PostgresPassword.lookup(String(parts[1]), url: url)
        }
    }
}
