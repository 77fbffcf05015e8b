import Foundation
import Testing
import TrustGateAllowList
import TrustGateGateway
import TrustGatePKI
import TrustGateTesting

@Suite("Gateway configuration (YAML)")
struct GatewayConfigurationTests {
    static let example: String = {
        let path = (TrustGateBinary.packageRoot as NSString).appendingPathComponent("Examples/gateway.yaml")
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }()

    /// The shipped example, with the test PKI it refers to made beside it.
    func withExample(_ body: (TemporaryDirectory) throws -> Void) async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestPKI()
            try FileManager.default.createDirectory(atPath: dir.file("testpki"), withIntermediateDirectories: true)
            for file in pki.files { try dir.write("testpki/\(file.name)", file.contents) }
            try dir.write("gateway.yaml", text: Self.example)
            try body(dir)
        }
    }

    @Test("The shipped example loads with its documented defaults")
    func example() async throws {
        try await withExample { dir in
            let configuration = try GatewayConfiguration.load(yaml: Self.example, baseDirectory: dir.path)
            #expect(configuration.gateway == "contoso")
            let listener = try #require(configuration.listeners.first)
            #expect(listener.port == 8443 && listener.scheme == .https && listener.address == "0.0.0.0")
            #expect(listener.certificate == .pfx(path: dir.file("testpki/gateway-listener.pfx"),
                                                 passwordFile: dir.file("testpki/gateway-listener.pass")))
            #expect(listener.tls.minimumVersion == "1.2")
            let settings = try #require(configuration.backendSettings.first)
            #expect(settings.trust == .trustedRoot && settings.requestTimeout == 30 && settings.connectTimeout == 10)
            #expect(settings.hostName(for: .init(host: "10.0.0.4", port: 443)) == "backend.test")
            #expect(configuration.pools[1].members.map(\.description) == ["127.0.0.1:9444", "127.0.0.1:9445"])
            #expect(configuration.rules.first?.paths.first?.match == "/images/*")
        }
    }

    @Test("Every problem is reported with its key path, line and column")
    func problems() async throws {
        try await withExample { dir in
            let broken = Self.example
                .replacingOccurrences(of: "port: 8443", with: "port: 99999")
                .replacingOccurrences(of: "trust: trusted-root", with: "trust: trusted-roots")
                .replacingOccurrences(of: "    listener: public", with: "    listener: private")
                .replacingOccurrences(of: "request-timeout: 30s", with: "request-timeout: soon")
                .replacingOccurrences(of: "gateway-listener.pfx", with: "missing.pfx")
                + "extra-key: 1\n"
            let error = #expect(throws: ConfigurationProblems.self) {
                try GatewayConfiguration.load(yaml: broken, baseDirectory: dir.path)
            }
            let problems = error?.problems ?? []
            func find(_ path: String, _ message: String) -> ConfigurationProblem? {
                problems.first { $0.path == path && $0.message.contains(message) }
            }
            let port = try #require(find("listeners[0].port", "whole number"), "\(problems)")
            let portLine = broken.split(separator: "\n", omittingEmptySubsequences: false)
                .firstIndex { $0.contains("port: 99999") }.map { $0 + 1 }
            #expect(port.line == portLine && port.column == 11, "\(port)")
            #expect(find("backend-settings[0].trust", "well-known-ca") != nil, "\(problems)")
            #expect(problems.filter { $0.message.contains("'e2e'") }.isEmpty, "no cascade from a faulty settings entry")
            #expect(find("backend-settings[0].request-timeout", "duration") != nil, "\(problems)")
            #expect(find("rules[0]", "listener 'private' is not defined") != nil, "\(problems)")
            #expect(find("listeners[0].certificate.pfx", "cannot read") != nil, "\(problems)")
            #expect(find("extra-key", "unknown key") != nil, "\(problems)")
        }
    }

    @Test("admin and access-log: defaults, paths resolved against the file; a missing port or token file is a problem")
    func adminAndAccessLog() async throws {
        try await withExample { dir in
            try dir.write("token", text: "t\n")
            let good = try GatewayConfiguration.load(
                yaml: Self.example + "admin: {port: 9100, token-file: token}\naccess-log: logs/access.log\n", baseDirectory: dir.path
            )
            #expect(good.admin == .init(address: "127.0.0.1", port: 9100, tokenFile: dir.file("token")))
            #expect(good.accessLog == dir.file("logs/access.log"))
            #expect(try GatewayConfiguration.load(yaml: Self.example + "access-log: stdout\n", baseDirectory: dir.path)
                .accessLog == "stdout")
            let error = #expect(throws: ConfigurationProblems.self) {
                try GatewayConfiguration.load(yaml: Self.example + "admin: {address: 0.0.0.0, token-file: nope, extra: 1}\n",
                                              baseDirectory: dir.path)
            }
            let messages = (error?.problems ?? []).map { "\($0.path): \($0.message)" }
            #expect(messages.contains { $0.hasPrefix("admin: missing port") }, "\(messages)")
            #expect(messages.contains { $0.hasPrefix("admin.token-file: cannot read") }, "\(messages)")
            #expect(messages.contains { $0.hasPrefix("admin.extra: unknown key") }, "\(messages)")
        }
    }

    @Test("store: a path is resolved against the file, a postgres:// URL is kept as written and checked; store-snapshot")
    func storeLocations() async throws {
        try await withExample { dir in
            let path = try GatewayConfiguration.load(yaml: Self.example + "store: data/store.sqlite\n", baseDirectory: dir.path)
            #expect(path.store == dir.file("data/store.sqlite") && path.storeSnapshot == nil)
            let url = "postgres://tg@db.internal:5432/trustgate?sslrootcert=/etc/tg/root.pem&password-file=/etc/tg/pw"
            let fleet = try GatewayConfiguration.load(
                yaml: Self.example + "store: '\(url)'\nstore-snapshot: state/g.json\n", baseDirectory: dir.path
            )
            #expect(fleet.store == url && fleet.storeSnapshot == dir.file("state/g.json"))
            for bad in ["postgres://tg:secret@db/trustgate?sslmode=disable", "postgres://tg@db/trustgate?sslmode=allow",
                        "postgres://tg@db/trustgate"] {
                let error = #expect(throws: ConfigurationProblems.self) {
                    try GatewayConfiguration.load(yaml: Self.example + "store: '\(bad)'\n", baseDirectory: dir.path)
                }
                let messages = (error?.problems ?? []).map { "\($0.path): \($0.message)" }
                #expect(messages.contains { $0.hasPrefix("store: ") }, "\(bad): \(messages)")
                #expect(!messages.joined().contains("secret"))
            }
        }
    }

    @Test("Sites and redirects: one protocol and one default site per port, no host name twice; redirect rules checked")
    func sitesAndRedirects() async throws {
        try await withExample { dir in
            let listeners = """
                listeners:
                  - {name: a, address: 127.0.0.1, port: 9000, protocol: http, host-names: [a.test]}
                  - {name: b, address: 127.0.0.1, port: 9000, protocol: http, host-names: [a.test, b.test]}
                  - {name: c, address: 127.0.0.1, port: 9000}
                  - {name: d, address: 127.0.0.1, port: 9001, protocol: http}
                pools: [{name: p, members: ["127.0.0.1:1"]}]
                backend-settings: [{name: s, host-name: x.test}]
                rules:
                  - {name: r1, listener: d, redirect: {listener: nowhere, status: 304}}
                  - {name: r2, listener: a, pool: p, settings: s, redirect: {listener: c}}
                  - {name: r3, listener: b, redirect: {listener: c, status: 308, include-query: false}}
                """
            let error = #expect(throws: ConfigurationProblems.self) {
                try GatewayConfiguration.load(yaml: "gateway: g\n" + listeners, baseDirectory: dir.path)
            }
            let messages = (error?.problems ?? []).map { "\($0.path): \($0.message)" }
            for expected in ["listeners[1]: host name a.test is served by another listener",
                             "listeners[2]: shares 127.0.0.1:9000 with a listener of another protocol",
                             "rules[0].redirect.status: expected 301, 302, 303, 307 or 308",
                             "rules[1].pool: a redirect rule has no pool",
                             "rules[0]: redirect listener 'nowhere' is not defined"] {
                #expect(messages.contains { $0.hasPrefix(expected) }, "\(expected) in \(messages)")
            }
            let good = try GatewayConfiguration.load(yaml: "gateway: g\n" + listeners
                .replacingOccurrences(of: "[a.test, b.test]", with: "[b.test]")
                .replacingOccurrences(of: "  - {name: c, address: 127.0.0.1, port: 9000}\n", with: "  - {name: c, address: 127.0.0.1, port: 9000, protocol: http}\n")
                .replacingOccurrences(of: "{listener: nowhere, status: 304}", with: "{listener: c}")
                .replacingOccurrences(of: "pool: p, settings: s, redirect: {listener: c}", with: "pool: p, settings: s"),
                baseDirectory: dir.path)
            #expect(good.rules[0].redirect == .init(listener: "c", status: 301, includePath: true, includeQuery: true))
            #expect(good.rules[2].redirect == .init(listener: "c", status: 308, includePath: true, includeQuery: false))
            #expect(good.listeners[1].serves("b.test") && !good.listeners[1].serves("a.test"))
        }
    }

    @Test("affinity: default cookie name, same-site-none; a cookie name that is not a token is a problem")
    func affinity() async throws {
        try await withExample { dir in
            let withAffinity = Self.example.replacingOccurrences(of: "trust: trusted-root", with: "trust: trusted-root\n    affinity: {}")
            let defaults = try GatewayConfiguration.load(yaml: withAffinity, baseDirectory: dir.path)
            #expect(defaults.backendSettings[0].affinity == .init(cookieName: "TrustGateAffinity", sameSiteNone: false))
            let named = Self.example.replacingOccurrences(
                of: "trust: trusted-root", with: "trust: trusted-root\n    affinity: {cookie: App, same-site-none: true}")
            let custom = try GatewayConfiguration.load(yaml: named, baseDirectory: dir.path)
            #expect(custom.backendSettings[0].affinity == .init(cookieName: "App", sameSiteNone: true))
            let plainWithClient = Self.example
                .replacingOccurrences(of: "trust: trusted-root", with: "trust: trusted-root\n    client-certificate: {pem: nope.pem, key: nope.key}")
                .replacingOccurrences(of: "protocol: https                   # https (default) | http\n    host-name",
                                      with: "protocol: http\n    host-name")
            let plainError = #expect(throws: ConfigurationProblems.self) {
                try GatewayConfiguration.load(yaml: plainWithClient, baseDirectory: dir.path)
            }
            let plainMessages = (plainError?.problems ?? []).map { "\($0.path): \($0.message)" }
            #expect(plainMessages.contains { $0.hasPrefix("backend-settings[0].client-certificate: a client certificate needs protocol https") },
                    "\(plainMessages)")
            #expect(plainMessages.contains { $0.hasPrefix("backend-settings[0].client-certificate.pem: cannot read") }, "\(plainMessages)")
            let bad = Self.example.replacingOccurrences(of: "trust: trusted-root", with: "trust: trusted-root\n    affinity: {cookie: \"a b\"}")
            let error = #expect(throws: ConfigurationProblems.self) { try GatewayConfiguration.load(yaml: bad, baseDirectory: dir.path) }
            #expect(error?.problems.contains { $0.path == "backend-settings[0].affinity.cookie" } == true, "\(String(describing: error))")
        }
    }

    @Test("Members: host:port, host, [IPv6]:port; bad ones are refused")
    func members() {
        #expect(GatewayConfiguration.Member(parsing: "backend1.contoso.test:8443") == .init(host: "backend1.contoso.test", port: 8443))
        #expect(GatewayConfiguration.Member(parsing: "10.0.0.4") == .init(host: "10.0.0.4", port: nil))
        #expect(GatewayConfiguration.Member(parsing: "[::1]:443") == .init(host: "::1", port: 443))
        #expect(GatewayConfiguration.Member(parsing: "host:0") == nil)
        #expect(GatewayConfiguration.Member(parsing: "host:http") == nil)
        #expect(GatewayConfiguration.Member(parsing: "[::1]443") == nil)
    }

    @Test("YAML syntax errors and an empty file are problems, not crashes")
    func syntax() {
        for text in ["gateway: [unclosed\n", "", "- just\n- a list\n", "gateway: g\nlisteners: 5\n"] {
            #expect(throws: ConfigurationProblems.self, "\(text)") {
                try GatewayConfiguration.load(yaml: text, baseDirectory: "/tmp")
            }
        }
    }
}
