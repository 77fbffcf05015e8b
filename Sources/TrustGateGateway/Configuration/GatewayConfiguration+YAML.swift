import Foundation
import TrustGateAllowList
import TrustGatePKI
import Yams

extension GatewayConfiguration {
    /// Reads a gateway configuration from YAML, checking everything it can without starting: keys, types,
    /// references between objects, and that certificate files exist. Relative paths are resolved against
    /// `baseDirectory` (the config file's directory). Throws the list of every problem found.
    ///
    /// Keys (see `trustgate-gateway.yaml(5)`):
    /// - `gateway` (required): the allow-list this gateway enforces.
    /// - `store`: the allow-list store; default `$TRUSTGATE_STORE`, else the user's data directory.
    /// - `drain-timeout`: how long SIGTERM/SIGINT let requests in flight finish (default `30s`).
    /// - `threads`: event-loop threads, 1 to 256 (default: one per core).
    /// - `listeners[]`: `name`, `address` (default `0.0.0.0`), `port`, `protocol` (`https` default | `http`),
    ///   `certificate` (`{pfx, password-file}` or `{pem, key}`; required for https), `host-names[]`,
    ///   `tls` (`minimum-version` `1.2` default | `1.3`, `cipher-suites[]`), `require-sni` (default false).
    /// - `pools[]`: `name`, `members[]` (`host:port`, `host`, or `[v6]:port`).
    /// - `backend-settings[]`: `name`, `protocol` (`https` default | `http`), `port`, `host-name`,
    ///   `pick-host-name-from-member` (default false), `trust` (`trusted-root` default | `pinned` | `well-known-ca`),
    ///   `request-timeout` (default `30s`), `connect-timeout` (default `10s`), `read-timeout` (default `60s`),
    ///   `websocket-idle-timeout` (default `1h`), `verification-profile` (`strict` default | `compatible`).
    ///   `affinity` (`{cookie: TrustGateAffinity, same-site-none: false}`), `probe` (`{path, interval, timeout,
    ///   unhealthy-threshold, status-codes, body-match}`), `client-certificate` (as a listener's `certificate`).
    /// - `rules[]`: `name`, `listener`, `pool`, `settings`, `paths[]` (`{match, pool, settings}`), `redirect`.
    /// - `admin`: `address` (default `127.0.0.1`), `port`, `token-file` (a bearer token; required unless `address`
    ///   is a loopback address: `/metrics` and `/backend-health` describe every backend).
    /// - `access-log`: `stdout`, or a file to append to.
    /// - `client-timeouts`: `keep-alive` (default `75s`), `header` (default `60s`, from the connection's accept for
    ///   its first request), `send` (as `send-timeout`).
    /// - `send-timeout`: how long a client may take to read what is sent to it (nginx's `send_timeout`, `60s`).
    /// - `allow-encoded-slashes`: `true` keeps `%2F` and `%5C` in paths encoded (matched as text) instead of 400.
    /// - listeners' `max-connections` (default 10,000): accepting pauses while that many connections are open.
    /// - backend settings' `read-timeout` (default `60s`): between two reads of a response once it began.
    /// - backend settings' `websocket-idle-timeout` (default `1h`): a WebSocket tunnel that carries nothing either
    ///   way for that long is closed.
    public static func load(yaml text: String, baseDirectory: String) throws(ConfigurationProblems) -> GatewayConfiguration {
        let reader = ConfigurationReader()
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigurationProblems([Self.problem(from: error)])
        } catch {
            throw ConfigurationProblems([ConfigurationProblem(path: "", line: nil, column: nil, message: "\(error)")])
        }
        guard let root else {
            throw ConfigurationProblems([ConfigurationProblem(path: "", line: nil, column: nil, message: "the file is empty")])
        }
        let top = reader.mapping(
            ConfigurationReader.Field(node: root, path: ""),
            allowed: ["gateway", "store", "store-snapshot", "drain-timeout", "threads", "listeners", "pools", "backend-settings", "rules",
                      "admin", "access-log", "client-timeouts", "send-timeout", "allow-encoded-slashes"]
        ) ?? [:]

        let gateway = reader.string(top["gateway"], required: "gateway") ?? ""
        if let field = top["gateway"], !gateway.isEmpty, !EntryRegistration.isValidGatewayName(gateway) {
            reader.problem(field, "not a gateway name (letters, digits, '.', '_' and '-', at most 64)")
        }
        let store = reader.string(top["store"]).map { PostgresStoreURL.isPostgres($0) ? $0 : resolve($0, baseDirectory) }
        if let store, let field = top["store"], PostgresStoreURL.isPostgres(store) {
            do {
                _ = try PostgresStoreURL(store)
            } catch {
                reader.problem(field, error.reason)
            }
        }
        let listeners = reader.sequence(top["listeners"]).compactMap { listener($0, reader, baseDirectory) }
        let pools = reader.sequence(top["pools"]).compactMap { pool($0, reader) }
        let settings = reader.sequence(top["backend-settings"]).compactMap { backendSettings($0, reader, baseDirectory) }
        let rules = reader.sequence(top["rules"]).compactMap { rule($0, reader) }
        var configuration = GatewayConfiguration(
            gateway: gateway, store: store, listeners: listeners, pools: pools, backendSettings: settings, rules: rules
        )
        configuration.storeSnapshot = reader.string(top["store-snapshot"]).map { resolve($0, baseDirectory) }
        configuration.drainTimeout = reader.duration(top["drain-timeout"]) ?? 30
        configuration.threads = reader.integer(top["threads"], in: 1...256)
        if let field = top["admin"], let parts = reader.mapping(field, allowed: ["address", "port", "token-file"]) {
            if parts["port"] == nil { reader.problem(field, "missing port") }
            let tokenFile = reader.string(parts["token-file"]).map { resolve($0, baseDirectory) }
            if let tokenFile, !FileManager.default.isReadableFile(atPath: tokenFile) {
                reader.problem(parts["token-file"] ?? field, "cannot read \(tokenFile)")
            }
            let address = reader.string(parts["address"]) ?? "127.0.0.1"
            if tokenFile == nil, !Admin.isLoopback(address) {
                reader.problem(parts["address"] ?? field, "an admin listener on \(address), beyond loopback, needs a token-file")
            }
            if let port = reader.integer(parts["port"], in: 0...65535) {
                configuration.admin = Admin(address: address, port: port, tokenFile: tokenFile)
            }
        }
        configuration.allowEncodedSlashes = reader.bool(top["allow-encoded-slashes"]) ?? false
        configuration.sendTimeout = reader.duration(top["send-timeout"]) ?? 60
        if let field = top["client-timeouts"], let parts = reader.mapping(field, allowed: ["keep-alive", "header", "send"]) {
            configuration.clientKeepAliveTimeout = reader.duration(parts["keep-alive"]) ?? 75
            configuration.clientHeaderTimeout = reader.duration(parts["header"]) ?? 60
            if let send = reader.duration(parts["send"]) { configuration.sendTimeout = send }
            for (key, value) in [("keep-alive", configuration.clientKeepAliveTimeout), ("header", configuration.clientHeaderTimeout)]
            where value <= 0 {
                reader.problem(parts[key] ?? field, "more than 0")
            }
        }
        configuration.accessLog = reader.string(top["access-log"]).map { $0 == "stdout" ? $0 : resolve($0, baseDirectory) }
        configuration.checkReferences(reader, top)
        guard reader.problems.isEmpty else { throw ConfigurationProblems(reader.problems) }
        configuration.store = store
        return configuration
    }

    private static func listener(_ field: ConfigurationReader.Field, _ reader: ConfigurationReader, _ base: String)
        -> Listener?
    {
        guard let fields = reader.mapping(
            field, allowed: ["name", "address", "port", "protocol", "certificate", "host-names", "tls", "require-sni",
                             "max-connections"])
        else { return nil }
        let name = reader.string(fields["name"], required: "\(field.path).name")
        let port = reader.integer(fields["port"], in: 0...65535)
        if fields["port"] == nil { reader.problem(field, "missing port") }
        let scheme = fields["protocol"].map { reader.choice($0, Scheme.self, allowed: [.https, .http]) } ?? .https
        let certificate = fields["certificate"].flatMap { self.certificate($0, reader, base) }
        if scheme == .https, certificate == nil, fields["certificate"] == nil {
            reader.problem(field, "an https listener needs a certificate")
        }
        var tls = TLSPolicy.default
        if let tlsField = fields["tls"], let parts = reader.mapping(tlsField, allowed: ["minimum-version", "cipher-suites"]) {
            if let version = reader.string(parts["minimum-version"]) {
                if ["1.2", "1.3"].contains(version) {
                    tls.minimumVersion = version
                } else if let versionField = parts["minimum-version"] {
                    reader.problem(versionField, "expected 1.2 or 1.3")
                }
            }
            tls.cipherSuites = reader.strings(parts["cipher-suites"])
        }
        guard let name, let port, let scheme else { return nil }
        var listener = Listener(
            name: name, address: reader.string(fields["address"]) ?? "0.0.0.0", port: port, scheme: scheme,
            certificate: certificate, hostNames: reader.strings(fields["host-names"]).map { $0.lowercased() }, tls: tls
        )
        listener.requireSNI = reader.bool(fields["require-sni"]) ?? false
        listener.maxConnections = reader.integer(fields["max-connections"], in: 1...1_000_000) ?? Listener.defaultMaxConnections
        return listener
    }

    /// `{pfx: FILE, password-file: FILE}` or `{pem: FILE, key: FILE}`, each file readable.
    static func certificate(_ field: ConfigurationReader.Field, _ reader: ConfigurationReader, _ base: String)
        -> ListenerCertificate?
    {
        guard let parts = reader.mapping(field, allowed: ["pfx", "password-file", "pem", "key"]) else { return nil }
        var certificate: ListenerCertificate?
        if let pfx = reader.string(parts["pfx"]) {
            certificate = .pfx(path: resolve(pfx, base), passwordFile: reader.string(parts["password-file"]).map { resolve($0, base) })
            if parts["pem"] != nil || parts["key"] != nil {
                reader.problem(field, "give either pfx (with password-file) or pem and key, not both")
            }
        } else if let pem = reader.string(parts["pem"]), let key = reader.string(parts["key"]) {
            certificate = .pem(certificate: resolve(pem, base), key: resolve(key, base))
        } else {
            reader.problem(field, "expected {pfx: FILE, password-file: FILE} or {pem: FILE, key: FILE}")
        }
        for (key, path) in certificateFiles(certificate) where !FileManager.default.isReadableFile(atPath: path) {
            reader.problem(parts[key] ?? field, "cannot read \(path)")
        }
        return certificate
    }

    private static func certificateFiles(_ certificate: ListenerCertificate?) -> [(String, String)] {
        switch certificate {
        case .pfx(let path, let passwordFile): return [("pfx", path)] + (passwordFile.map { [("password-file", $0)] } ?? [])
        case .pem(let certificate, let key): return [("pem", certificate), ("key", key)]
        case nil: return []
        }
    }

    private static func pool(_ field: ConfigurationReader.Field, _ reader: ConfigurationReader) -> BackendPool? {
        guard let fields = reader.mapping(field, allowed: ["name", "members"]) else { return nil }
        let name = reader.string(fields["name"], required: "\(field.path).name")
        var members: [Member] = []
        for memberField in reader.sequence(fields["members"]) {
            guard let text = reader.string(memberField) else { continue }
            guard let member = Member(parsing: text) else {
                reader.problem(memberField, "expected host, host:port or [IPv6]:port")
                continue
            }
            members.append(member)
        }
        if members.isEmpty { reader.problem(fields["members"] ?? field, "a pool needs at least one member") }
        guard let name else { return nil }
        return BackendPool(name: name, members: members)
    }

    static func resolve(_ path: String, _ base: String) -> String {
        path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
    }

    private static func problem(from error: YamlError) -> ConfigurationProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return ConfigurationProblem(path: "", line: mark.line, column: mark.column, message: "YAML syntax: \(problem)")
        default:
            return ConfigurationProblem(path: "", line: nil, column: nil, message: "YAML: \(error)")
        }
    }
}
