import Foundation
import TrustGatePKI

/// The store password, from where the URL says: never from argv, never echoed, never in an error.
enum PostgresPassword {
    static func resolve(
        _ url: PostgresStoreURL, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(AllowListError) -> String? {
        switch url.password {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw AllowListError(
                    code: .storeUnreadable, reason: "the store's password file cannot be read", hint: nil, file: path
                )
            }
            // As every password file TrustGate reads: all of it, less one trailing newline.
            let bytes = Password(fileContents: Array(data)).bytes
            guard data.count <= 4096, let password = String(bytes: bytes, encoding: .utf8),
                !password.contains(where: \.isNewline)
            else {
                throw AllowListError(
                    code: .storeUnreadable, reason: "the store's password file is not one line of UTF-8", hint: nil, file: path
                )
            }
            guard !password.isEmpty else {
                throw AllowListError(code: .storeUnreadable, reason: "the store's password file is empty", hint: nil, file: path)
            }
            return password
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else {
                throw AllowListError(
                    code: .unsupportedStore, reason: "the environment variable \(name) named by password-env is not set",
                    hint: nil, file: nil
                )
            }
            return value
        case .passfile:
            let path = environment["PGPASSFILE"]
                ?? environment["HOME"].map { ($0 as NSString).appendingPathComponent(".pgpass") }
            guard let path, let data = FileManager.default.contents(atPath: path), data.count <= 1 << 20 else { return nil }
            // As libpq: a password file others can read is ignored.
            if let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int,
                mode & 0o077 != 0
            {
                return nil
            }
            return lookup(String(decoding: data, as: UTF8.self), url: url)
        }
    }

    /// The password of the first `host:port:database:user:password` line matching the URL (`*` matches anything,
    /// `\:` and `\\` are escapes), as libpq reads `.pgpass`.
    static func lookup(_ text: String, url: PostgresStoreURL) -> String? {
        let wanted = [url.host, String(url.port), url.database, url.user]
        for line in text.split(whereSeparator: \.isNewline).prefix(10_000) where !line.hasPrefix("#") {
            let fields = split(line)
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    private static func split(_ line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":", fields.count < 4 {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }
}
