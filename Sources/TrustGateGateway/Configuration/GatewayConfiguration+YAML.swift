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
    ///   `verification-profile` (`strict` default | `compatible`).
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
            allowed: ["gateway", "store", "drain-timeout", "threads", "listeners", "pools", "backend-settings", "rules",
                      "admin", "access-log", "client-timeouts", "send-timeout", "allow-encoded-slashes"]
        ) ?? [:]

        let gateway = reader.string(top["gateway"], required: "gateway") ?? ""
        if let field = top["gateway"], !gateway.isEmpty, !EntryRegistration.isValidGatewayName(gateway) {
            reader.problem(field, "not a gateway name (letters, digits, '.', '_' and '-', at most 64)")
        }
        let store = reader.string(top["store"]).map { resolve($0, baseDirectory) }
        let listeners = reader.sequence(top["listeners"]).compactMap { listener($0, reader, baseDirectory) }
        let pools = reader.sequence(top["pools"]).compactMap { pool($0, reader) }
        let settings = reader.sequence(top["backend-settings"]).compactMap { backendSettings($0, reader, baseDirectory) }
        let rules = reader.sequence(top["rules"]).compactMap { rule($0, reader) }
        var configuration = GatewayConfiguration(
            gateway: gateway, store: store, listeners: listeners, pools: pools, backendSettings: settings, rules: rules
        )
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
    private static func certificate(_ field: ConfigurationReader.Field, _ reader: ConfigurationReader, _ base: String)
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

    private static func backendSettings(_ field: ConfigurationReader.Field, _ reader: ConfigurationReader, _ base: String)
        -> BackendSettings?
    {
        guard let fields = reader.mapping(
            field,
            allowed: ["name", "protocol", "port", "host-name", "pick-host-name-from-member", "trust", "request-timeout",
                      "connect-timeout", "read-timeout", "affinity", "probe", "client-certificate", "verification-profile"])
        else { return nil }
        let name = reader.string(fields["name"], required: "\(field.path).name")
        let scheme = fields["protocol"].map { reader.choice($0, Scheme.self, allowed: [.https, .http]) } ?? .https
        let trust = fields["trust"].map { reader.choice($0, TrustMode.self, allowed: TrustMode.allCases) } ?? .trustedRoot
        let pick = reader.bool(fields["pick-host-name-from-member"]) ?? false
        let hostName = reader.string(fields["host-name"])
        if pick, hostName != nil, let field = fields["host-name"] {
            reader.problem(field, "give either host-name or pick-host-name-from-member, not both")
        }
        let port = reader.integer(fields["port"], in: 1...65535)
        let requestTimeout = reader.duration(fields["request-timeout"]) ?? 30
        let connectTimeout = reader.duration(fields["connect-timeout"]) ?? 10
        var affinity: Affinity?
        if let affinityField = fields["affinity"], let parts = reader.mapping(affinityField, allowed: ["cookie", "same-site-none"]) {
            let cookie = reader.string(parts["cookie"]) ?? "TrustGateAffinity"
            if cookie.isEmpty || !cookie.utf8.allSatisfy(HTTP1.isTokenByte) {
                reader.problem(parts["cookie"] ?? affinityField, "not a cookie name (letters, digits and !#$%&'*+-.^_`|~)")
            }
            affinity = Affinity(cookieName: cookie, sameSiteNone: reader.bool(parts["same-site-none"]) ?? false)
        }
        var probe: Probe?
        if let probeField = fields["probe"], let parts = reader.mapping(
            probeField, allowed: ["path", "interval", "timeout", "unhealthy-threshold", "status-codes", "body-match"])
        {
            var value = Probe()
            if let path = reader.string(parts["path"]) {
                if path.hasPrefix("/"), path.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) {
                    value.path = path
                } else {
                    reader.problem(parts["path"] ?? probeField, "a path starts with / and holds no spaces")
                }
            }
            value.interval = reader.duration(parts["interval"]) ?? 30
            value.timeout = reader.duration(parts["timeout"]) ?? 30
            if value.interval < 1 { reader.problem(parts["interval"] ?? probeField, "at least 1s") }
            if value.timeout <= 0 { reader.problem(parts["timeout"] ?? probeField, "more than 0") }
            value.unhealthyThreshold = reader.integer(parts["unhealthy-threshold"], in: 1...20) ?? 3
            if parts["status-codes"] != nil {
                value.statuses = reader.strings(parts["status-codes"]).compactMap { text -> ClosedRange<Int>? in
                    let bounds = text.split(separator: "-", maxSplits: 1).map { Int($0.trimmingASCIIWhitespace()) }
                    guard let low = bounds.first ?? nil, let high = bounds.count == 2 ? bounds[1] : low,
                        (100...599).contains(low), (100...599).contains(high), low <= high
                    else {
                        reader.problem(parts["status-codes"] ?? probeField, "'\(text)' is not a status or a range like 200-399")
                        return nil
                    }
                    return low...high
                }
            }
            value.bodyMatch = reader.string(parts["body-match"])
            probe = value
        }
        guard let name, let scheme, let trust else { return nil }
        var settings = BackendSettings(
            name: name, scheme: scheme, port: port, hostName: hostName?.lowercased(), pickHostNameFromMember: pick,
            trust: trust, requestTimeout: requestTimeout, connectTimeout: connectTimeout
        )
        settings.affinity = affinity
        settings.probe = probe
        settings.readTimeout = reader.duration(fields["read-timeout"]) ?? 60
        if let field = fields["verification-profile"],
            let profile = reader.choice(field, VerificationProfile.self, allowed: VerificationProfile.allCases)
        {
            settings.verificationProfile = profile
        }
        if let certificateField = fields["client-certificate"] {
            settings.clientCertificate = certificate(certificateField, reader, base)
            if scheme == .http { reader.problem(certificateField, "a client certificate needs protocol https") }
        }
        return settings
    }

    private static func rule(_ field: ConfigurationReader.Field, _ reader: ConfigurationReader) -> RoutingRule? {
        guard let fields = reader.mapping(
            field, allowed: ["name", "listener", "pool", "settings", "paths", "redirect", "rewrite"]
        ) else {
            return nil
        }
        var rewrite: HeaderRewrite?
        if let rewriteField = fields["rewrite"], let sides = reader.mapping(rewriteField, allowed: ["request", "response"]) {
            var value = HeaderRewrite()
            for side in ["request", "response"] {
                guard let sideField = sides[side], let parts = reader.mapping(sideField, allowed: ["set", "remove"]) else {
                    continue
                }
                var set: [HeaderRewrite.Field] = []
                if let setField = parts["set"], let entries = reader.mapping(setField, allowed: nil) {
                    for (name, entry) in entries.sorted(by: { $0.key < $1.key }) {
                        let text = reader.string(entry) ?? ""
                        if !text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F || $0 == "\t" }) {
                            reader.problem(entry, "a field value cannot hold control characters")
                        }
                        set.append(.init(name: name.lowercased(), value: text))
                    }
                }
                let remove = reader.strings(parts["remove"]).map { $0.lowercased() }
                for name in set.map(\.name) + remove {
                    if name.isEmpty || !name.utf8.allSatisfy(HTTP1.isTokenByte) {
                        reader.problem(sideField, "'\(name)' is not a field name")
                    } else if HeaderRewrite.reserved.contains(name) {
                        reader.problem(sideField, "\(name) is written by the gateway and cannot be rewritten")
                    }
                }
                if side == "request" {
                    (value.requestSet, value.requestRemove) = (set, remove)
                } else {
                    (value.responseSet, value.responseRemove) = (set, remove)
                }
            }
            rewrite = value
        }
        var redirect: Redirect?
        if let redirectField = fields["redirect"],
            let parts = reader.mapping(redirectField, allowed: ["listener", "status", "include-path", "include-query"])
        {
            if let target = reader.string(parts["listener"], required: "\(redirectField.path).listener") {
                var value = Redirect(listener: target)
                if let status = reader.integer(parts["status"], in: 300...399) {
                    if [301, 302, 303, 307, 308].contains(status) {
                        value.status = status
                    } else if let statusField = parts["status"] {
                        reader.problem(statusField, "expected 301, 302, 303, 307 or 308")
                    }
                }
                value.includePath = reader.bool(parts["include-path"]) ?? true
                value.includeQuery = reader.bool(parts["include-query"]) ?? true
                redirect = value
            }
            for key in ["pool", "settings", "paths"] where fields[key] != nil {
                reader.problem(fields[key] ?? field, "a redirect rule has no \(key)")
            }
        }
        let paths = reader.sequence(fields["paths"]).compactMap { pathField -> PathRule? in
            guard let parts = reader.mapping(pathField, allowed: ["match", "pool", "settings"]) else { return nil }
            guard let match = reader.string(parts["match"], required: "\(pathField.path).match"),
                let pool = reader.string(parts["pool"], required: "\(pathField.path).pool"),
                let settings = reader.string(parts["settings"], required: "\(pathField.path).settings")
            else { return nil }
            if !match.hasPrefix("/") || match.dropLast().contains("*") {
                reader.problem(parts["match"] ?? pathField, "a path starts with / and may end in /* only")
            }
            return PathRule(match: match, pool: pool, settings: settings)
        }
        guard let name = reader.string(fields["name"], required: "\(field.path).name"),
            let listener = reader.string(fields["listener"], required: "\(field.path).listener")
        else { return nil }
        if fields["redirect"] != nil {
            return redirect.map { RoutingRule(name: name, listener: listener, pool: "", settings: "", paths: [], redirect: $0) }
        }
        guard let pool = reader.string(fields["pool"], required: "\(field.path).pool"),
            let settings = reader.string(fields["settings"], required: "\(field.path).settings")
        else { return nil }
        return RoutingRule(name: name, listener: listener, pool: pool, settings: settings, paths: paths, rewrite: rewrite)
    }

    /// Names must be unique and every reference must name something that exists.
    private func checkReferences(_ reader: ConfigurationReader, _ top: [String: ConfigurationReader.Field]) {
        func unique(_ names: [String], _ key: String) {
            for name in Set(names) where names.filter({ $0 == name }).count > 1 {
                reader.problem(top[key] ?? ConfigurationReader.Field(node: nil, path: key), "the name '\(name)' is used twice")
            }
        }
        unique(listeners.map(\.name), "listeners")
        unique(pools.map(\.name), "pools")
        unique(backendSettings.map(\.name), "backend-settings")
        unique(rules.map(\.name), "rules")
        for key in ["listeners", "pools", "backend-settings", "rules"] where reader.sequence(top[key]).isEmpty {
            reader.problem(top[key] ?? .init(node: nil, path: key), "at least one entry is needed")
        }
        // Names as written, even of objects that have problems of their own: those are reported once, there.
        func names(_ key: String) -> Set<String> {
            guard case .sequence(let items)? = top[key]?.node else { return [] }
            return Set(items.compactMap { $0.mapping?["name"]?.scalar?.string })
        }
        let (listenerNames, poolNames, settingsNames) = (names("listeners"), names("pools"), names("backend-settings"))
        // Listeners on one address and port (other than 0) are one socket: one protocol, at most one without
        // host names (the default site), no host name twice.
        let listenerFields = reader.sequence(top["listeners"])
        for (index, listener) in listeners.enumerated() where listener.port != 0 {
            let field = index < listenerFields.count ? listenerFields[index] : ConfigurationReader.Field(node: nil, path: "listeners")
            let earlier = listeners[..<index].filter { $0.address == listener.address && $0.port == listener.port }
            guard !earlier.isEmpty else { continue }
            if earlier.contains(where: { $0.scheme != listener.scheme }) {
                reader.problem(field, "shares \(listener.address):\(listener.port) with a listener of another protocol")
            }
            if listener.hostNames.isEmpty, earlier.contains(where: { $0.hostNames.isEmpty }) {
                reader.problem(field, "a second listener without host-names on \(listener.address):\(listener.port): "
                    + "only one site there can be the default")
            }
            for name in listener.hostNames where earlier.contains(where: { $0.hostNames.contains(name) }) {
                reader.problem(field, "host name \(name) is served by another listener on the same port")
            }
        }
        let ruleFields = reader.sequence(top["rules"])
        for (index, rule) in rules.enumerated() {
            let field = index < ruleFields.count ? ruleFields[index] : ConfigurationReader.Field(node: nil, path: "rules")
            if !listenerNames.contains(rule.listener) {
                reader.problem(field, "listener '\(rule.listener)' is not defined")
            }
            if let redirect = rule.redirect {
                if !listenerNames.contains(redirect.listener) {
                    reader.problem(field, "redirect listener '\(redirect.listener)' is not defined")
                }
                continue
            }
            var missing = Set<String>()
            for (pool, settings) in [(rule.pool, rule.settings)] + rule.paths.map({ ($0.pool, $0.settings) }) {
                if !poolNames.contains(pool), missing.insert("pool '\(pool)'").inserted {
                    reader.problem(field, "pool '\(pool)' is not defined")
                }
                if !settingsNames.contains(settings), missing.insert("settings '\(settings)'").inserted {
                    reader.problem(field, "backend settings '\(settings)' are not defined")
                }
            }
        }
    }

    private static func resolve(_ path: String, _ base: String) -> String {
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

extension GatewayConfiguration.Member {
    /// `host:port`, `host`, `[v6]:port`, or a bare IPv6 address.
    public init?(parsing text: String) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard !host.isEmpty else { return nil }
            if rest.isEmpty {
                self.init(host: host, port: nil)
                return
            }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port) else { return nil }
            self.init(host: host, port: port)
            return
        }
        let colons = text.filter { $0 == ":" }.count
        if colons == 1, let colon = text.firstIndex(of: ":") {
            guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
            let host = String(text[..<colon])
            guard !host.isEmpty else { return nil }
            self.init(host: host, port: port)
            return
        }
        guard !text.isEmpty, !text.contains(" ") else { return nil }
        self.init(host: text, port: nil)
    }
}

/// Every problem of a configuration, as thrown by ``GatewayConfiguration/load(yaml:baseDirectory:)``.
public struct ConfigurationProblems: Error, Sendable, CustomStringConvertible {
    public let problems: [ConfigurationProblem]

    public init(_ problems: [ConfigurationProblem]) {
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
