import Foundation

/// A `postgres://USER@HOST:PORT/DB?sslmode=…&sslrootcert=FILE` store URL, parsed strictly: an unknown
/// parameter, a password in the URL (it would be in argv and in `ps`) or a mode that does not authenticate the
/// server without saying so is a usage error, never ignored.
///
/// Parameters: `sslmode` (`verify-full`, the default, checks the chain to `sslrootcert` and the host name;
/// `verify-ca` the chain only; `require` encrypts without authenticating; `disable` is plain TCP, for a
/// loopback test cluster only), `sslrootcert` (a PEM file of roots, or `system` for the well-known CAs),
/// `password-file` (a file holding the password), `password-env` (an environment variable holding it),
/// `connect-timeout` (seconds, 1…60, default 5), `statement-timeout` (seconds one statement may take before the
/// connection is given up, 1…600, default 30). Without either password parameter the password comes from
/// `PGPASSFILE` or `~/.pgpass`, as libpq reads them; with none at all, no password is sent.
public struct PostgresStoreURL: Hashable, Sendable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public enum PasswordSource: Hashable, Sendable {
        case file(String)
        case environment(String)
        /// `PGPASSFILE`, or `~/.pgpass`, matched on host, port, database and user.
        case passfile
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var tlsMode: TLSMode
    /// The roots file, or `system`.
    public var rootCertificates: String?
    public var password: PasswordSource
    public var connectTimeout: Int
    public var statementTimeout: Int

    /// The URL without anything secret (there is nothing secret in it: the password is never part of it).
    public var description: String {
        "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
    }

    public static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    public init(_ text: String) throws(AllowListError) {
        guard text.utf8.count <= 4096 else { throw Self.invalid("the URL is longer than 4096 bytes") }
        var rest = Substring(text)
        if rest.hasPrefix("postgresql://") {
            rest = rest.dropFirst("postgresql://".count)
        } else if rest.hasPrefix("postgres://") {
            rest = rest.dropFirst("postgres://".count)
        } else {
            throw Self.invalid("a PostgreSQL store URL begins with postgres://")
        }
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw Self.invalid("the URL names no database (postgres://USER@HOST:PORT/DB)")
        }
        let authority = rest[..<slash]
        database = try Self.decoded(rest[rest.index(after: slash)...], "database")
        guard let at = authority.lastIndex(of: "@") else {
            throw Self.invalid("the URL names no user (postgres://USER@HOST:PORT/DB)")
        }
        let userInfo = authority[..<at]
        guard !userInfo.contains(":") else {
            throw AllowListError(
                code: .unsupportedStore, reason: "the store URL carries a password, which would show in argv and process lists",
                hint: "remove it from the URL and use password-file=FILE, password-env=VAR or ~/.pgpass", file: nil
            )
        }
        user = try Self.decoded(userInfo, "user")
        (host, port) = try Self.hostAndPort(authority[authority.index(after: at)...])
        var mode = TLSMode.verifyFull
        var roots: String?
        var password = PasswordSource.passfile
        var timeout = 5
        var statementTimeout = 30
        var seen = Set<String>()
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: "=") else { throw Self.invalid("parameter \(pair) has no value") }
            let name = String(pair[..<equals])
            let value = try Self.decoded(pair[pair.index(after: equals)...], name)
            guard seen.insert(name).inserted else { throw Self.invalid("parameter \(name) is given twice") }
            switch name {
            case "sslmode":
                guard let parsed = TLSMode(rawValue: value) else {
                    throw Self.invalid(
                        "sslmode \(value) is not one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                mode = parsed
            case "sslrootcert": roots = value
            case "password-file": password = .file(value)
            case "password-env": password = .environment(value)
            case "connect-timeout":
                guard let seconds = Int(value), (1...60).contains(seconds) else {
                    throw Self.invalid("connect-timeout must be 1 to 60 seconds")
                }
                timeout = seconds
            case "statement-timeout":
                guard let seconds = Int(value), (1...600).contains(seconds) else {
                    throw Self.invalid("statement-timeout must be 1 to 600 seconds")
                }
                statementTimeout = seconds
            default:
                throw Self.invalid(
                    "unknown parameter \(name) (sslmode, sslrootcert, password-file, password-env, connect-timeout, "
                        + "statement-timeout)"
                )
            }
        }
        if seen.contains("password-file"), seen.contains("password-env") {
            throw Self.invalid("give password-file or password-env, not both")
        }
        if mode == .verifyCA || mode == .verifyFull, roots == nil {
            throw Self.invalid("sslmode \(mode.rawValue) needs sslrootcert=FILE (or sslrootcert=system)")
        }
        tlsMode = mode
        rootCertificates = roots
        self.password = password
        connectTimeout = timeout
        self.statementTimeout = statementTimeout
    }

    private static func hostAndPort(_ text: Substring) throws(AllowListError) -> (String, Int) {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw invalid("an IPv6 host must end with ]") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 host") }
                portText = after.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = text
        }
        guard !host.isEmpty, host.utf8.count <= 253,
            host.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil
                || ".-:_".unicodeScalars.contains($0)) })
        else { throw invalid("the host is empty or not a host name or address") }
        var port = 5432
        if let portText {
            guard portText.utf8.count <= 5, let number = Int(portText), (1...65535).contains(number) else {
                throw invalid("the port must be 1 to 65535")
            }
            port = number
        }
        return (String(host), port)
    }

    private static func decoded(_ text: Substring, _ what: String) throws(AllowListError) -> String {
        guard let value = String(text).removingPercentEncoding, !value.isEmpty,
            !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { throw invalid("the \(what) is empty or not valid percent-encoding") }
        return value
    }

    private static func invalid(_ why: String) -> AllowListError {
        AllowListError(
            code: .unsupportedStore, reason: "invalid PostgreSQL store URL: \(why)",
            hint: "postgres://USER@HOST:PORT/DB?sslmode=verify-full&sslrootcert=ROOTS.pem&password-file=FILE", file: nil
        )
    }
}
