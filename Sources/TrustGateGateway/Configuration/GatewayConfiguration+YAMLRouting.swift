import Foundation
import TrustGateAllowList
import TrustGatePKI
import Yams

/// Reading the routing half of `gateway.yaml`: backend settings, rules, and the references between objects.
extension GatewayConfiguration {
    static func backendSettings(_ field: ConfigurationReader.Field, _ reader: ConfigurationReader, _ base: String)
        -> BackendSettings?
    {
        guard let fields = reader.mapping(
            field,
            allowed: ["name", "protocol", "port", "host-name", "pick-host-name-from-member", "trust", "request-timeout",
                      "connect-timeout", "read-timeout", "websocket-idle-timeout", "affinity", "probe", "client-certificate", "verification-profile"])
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
        settings.webSocketIdleTimeout = reader.duration(fields["websocket-idle-timeout"]) ?? 3600
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

    static func rule(_ field: ConfigurationReader.Field, _ reader: ConfigurationReader) -> RoutingRule? {
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
    func checkReferences(_ reader: ConfigurationReader, _ top: [String: ConfigurationReader.Field]) {
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
}
