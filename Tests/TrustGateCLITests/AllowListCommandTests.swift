import Foundation
import Testing
import TrustGatePKI
import TrustGateTesting

@Suite("trustgate allowlist, as a new user runs it")
struct AllowListCommandTests {
    /// testpki's files under `pki/`, and the environment naming a store in the directory.
    func withTestPKI(_ kind: StoreKind, _ body: (TemporaryDirectory, [String: String]) async throws -> Void) async throws {
        try await TrustGateTesting.withTestPKI(in: "pki") { dir in
            try await body(dir, ["TRUSTGATE_STORE": try kind.location(in: dir)])
        }
    }

    @Test("testpki → cert export --cer-base64 → allowlist add → check: the valid backend accepted, each bad one rejected with its category", arguments: StoreKind.allCases)
    func usedByFlow(kind: StoreKind) async throws {
        try await withTestPKI(kind) { dir, env in
            func run(_ arguments: [String]) throws -> ProcessResult {
                try TrustGateBinary.run(arguments, in: dir.path, environment: env)
            }
            try #require(try run(["cert", "export", "pki/backend-valid.pem", "--cer-base64", "backend.cer"]).status == 0)
            let added = try run(["allowlist", "add", "--gateway", "g1", "backend.cer"])
            #expect(added.status == 0 && added.stdout.contains("registered backend.test (pinned) on gateway g1"), "\(added)")
            let rooted = try run(["allowlist", "add", "--gateway", "g2", "pki/root-ca.pem"])
            #expect(rooted.status == 0 && rooted.stdout.contains("(trusted-root)"), "\(rooted)")
            for scenario in TestPKI.scenarios {
                let file = "pki/backend-\(scenario.name).pem"
                let pinned = try run(["allowlist", "check", "--gateway", "g1", "--chain", file, "--hostname",
                                      "backend.test", "--json"])
                let pinnedReason = scenario.name == "valid" ? "ok" : "not-allowlisted"
                #expect(pinned.stdout.contains("\"reason\" : \"\(pinnedReason)\""), "g1 \(file): \(pinned)")
                #expect(pinned.status == (scenario.name == "valid" ? 0 : 1))
                let trusted = try run(["allowlist", "check", "--gateway", "g2", "--chain", file, "--hostname",
                                       "backend.test", "--json"])
                #expect(trusted.stdout.contains("\"reason\" : \"\(scenario.category.rawValue)\""), "g2 \(file): \(trusted)")
                #expect(trusted.status == (scenario.category == .ok ? 0 : 1))
            }
            let list = try run(["allowlist", "list", "--gateway", "g1", "--json"])
            #expect(list.stdout.contains("\"name\" : \"backend.test\"") && list.stdout.contains("\"version\" : 1"))
            let history = try run(["allowlist", "history", "--json"])
            #expect(history.stdout.contains("\"action\" : \"add\""))
        }
    }

    @Test("Refusals exit 1 with a reason and a hint; nothing is registered", arguments: StoreKind.allCases)
    func refusals(kind: StoreKind) async throws {
        try await withTestPKI(kind) { dir, env in
            func run(_ arguments: [String]) throws -> ProcessResult {
                try TrustGateBinary.run(arguments, in: dir.path, environment: env)
            }
            let cases: [([String], String, String)] = [
                (["pki/backend-valid.key"], "holds a private key", "hint: pass the certificate file"),
                (["pki/gateway-listener.pem", "--name", "x"] , "", ""),
                (["pki/backend-valid.pem", "--as", "trusted-root"], "not a CA", "hint: register it with --as pinned"),
                (["pki/intermediate-ca.pem", "--as", "trusted-root"], "intermediate CA, not a root", "cert root"),
                (["pki/backend-expired.pem"], "expired at", "--allow-expired"),
                (["pki/gateway-listener.pem", "--name", "y"], "already registered as x", "hint: see"),
            ]
            for (arguments, reason, hint) in cases {
                let result = try run(["allowlist", "add", "--gateway", "g1"] + arguments)
                if reason.isEmpty {
                    #expect(result.status == 0, "\(result)")
                    continue
                }
                #expect(result.status == 1, "\(arguments): \(result)")
                #expect(result.stderr.hasPrefix("trustgate: error: cannot register") && result.stderr.contains(reason),
                        "\(arguments): \(result.stderr)")
                #expect(result.stderr.contains(hint), "\(arguments): \(result.stderr)")
            }
            let list = try run(["allowlist", "list", "--gateway", "g1", "--json"])
            #expect(list.stdout.components(separatedBy: "\"name\"").count - 1 == 1, "only the one accepted entry")
            let junk = try run(["allowlist", "add", "--gateway", "g1", "pki/README.md"])
            #expect(junk.status == 65, "\(junk)")
            let badGateway = try run(["allowlist", "add", "--gateway", "no spaces", "pki/root-ca.pem"])
            #expect(badGateway.status == 1, "\(badGateway)")
        }
    }

    @Test("check --connect against openssl s_server: valid accepted, wrong host hostname-mismatch, nothing listening unreachable", arguments: StoreKind.allCases)
    func checkConnect(kind: StoreKind) async throws {
        try await withTestPKI(kind) { dir, env in
            try #require(try TrustGateBinary.run(["allowlist", "add", "--gateway", "g", "pki/root-ca.pem"], in: dir.path,
                                                 environment: env).status == 0)
            for (name, status, reason) in [("valid", Int32(0), "ok"), ("wrong-host", 1, "hostname-mismatch")] {
                try await withOpenSSLServer(certificate: dir.file("pki/backend-\(name).pem"),
                                            key: dir.file("pki/backend-\(name).key")) { port in
                    let result = try TrustGateBinary.run(["allowlist", "check", "--gateway", "g", "--connect",
                                                          "127.0.0.1:\(port)", "--hostname", "backend.test", "--json"],
                                                         in: dir.path, environment: env)
                    #expect(result.status == status, "\(name): \(result)")
                    #expect(result.stdout.contains("\"reason\" : \"\(reason)\""), "\(name): \(result)")
                }
            }
            // A port nothing listens on: bind one, close it, connect to it.
            let closed = try TrustGateBinary.run(["allowlist", "check", "--gateway", "g", "--connect", "127.0.0.1:1",
                                                  "--hostname", "backend.test", "--json", "--timeout", "3"],
                                                 in: dir.path, environment: env)
            #expect(closed.status == 1 && closed.stdout.contains("\"reason\" : \"unreachable\""), "\(closed)")
            // --connect is written as a pool member: a port is required, IPv6 in brackets.
            for bad in ["backend.test", "::1:443", "backend.test:0", "[::1]"] {
                let result = try TrustGateBinary.run(["allowlist", "check", "--gateway", "g", "--connect", bad],
                                                     in: dir.path, environment: env)
                #expect(result.status == 64 && result.stderr.contains("HOST:PORT"), "\(bad): \(result)")
            }
        }
    }

    @Test("remove by name or pin; export → import into another gateway; a second import is refused whole", arguments: StoreKind.allCases)
    func removeExportImport(kind: StoreKind) async throws {
        try await withTestPKI(kind) { dir, env in
            func run(_ arguments: [String]) throws -> ProcessResult {
                try TrustGateBinary.run(arguments, in: dir.path, environment: env)
            }
            _ = try run(["allowlist", "add", "--gateway", "g1", "pki/backend-valid.pem"])
            _ = try run(["allowlist", "add", "--gateway", "g1", "pki/root-ca.pem"])
            let export = try run(["allowlist", "export", "--gateway", "g1", "--out", "g1.json"])
            #expect(export.status == 0, "\(export)")
            #expect(try run(["allowlist", "import", "g1.json", "--gateway", "g2"]).status == 0)
            let again = try run(["allowlist", "import", "g1.json", "--gateway", "g2"])
            #expect(again.status == 1 && again.stderr.contains("already registered"), "\(again)")
            let pin = try run(["cert", "pin", "pki/root-ca.pem"]).stdout.split(separator: "\n")[1]
                .trimmingCharacters(in: .whitespaces)
            let removed = try run(["allowlist", "remove", "--gateway", "g2", pin])
            #expect(removed.status == 0 && removed.stdout.contains("removed TrustGate Test Root CA"), "\(removed)")
            let gateways = try run(["allowlist", "gateways", "--json"])
            #expect(gateways.stdout.contains("\"name\" : \"g2\"") && gateways.stdout.contains("\"version\" : 2"))
            try dir.write("bad.json", text: "{\"format\": \"trustgate-allowlist/1\", \"gateway\": \"g9\"}")
            let bad = try run(["allowlist", "import", "bad.json"])
            #expect(bad.status == 65, "\(bad)")
        }
    }
}

@Suite("trustgate allowlist on a PostgreSQL store URL")
struct PostgresStoreCommandTests {
    @Test("A wrong root or host: exit 1 naming untrusted-root / hostname-mismatch; a wrong password: exit 65, never printed")
    func refusedConnections() async throws {
        let cluster = try TestPostgres.shared()
        let database = try cluster.createDatabase()
        try await withTemporaryDirectory { dir in
            func list(_ url: String) throws -> ProcessResult {
                try TrustGateBinary.run(["allowlist", "list", "--gateway", "g1", "--store", url], in: dir.path)
            }
            let wrongRoot = try list(cluster.url(database: database, root: cluster.otherRootFile))
            #expect(wrongRoot.status == 1 && wrongRoot.stderr.contains("untrusted-root"), "\(wrongRoot)")
            let wrongHost = try list(cluster.url(database: database, host: "127.0.0.1"))
            #expect(wrongHost.status == 1 && wrongHost.stderr.contains("hostname-mismatch"), "\(wrongHost)")
            let secret = "not-the-password-\(UUID().uuidString)"
            let file = try dir.write("pw", text: secret)
            let wrongPassword = try list(cluster.url(database: database).replacingOccurrences(of: cluster.passwordFile, with: file))
            #expect(wrongPassword.status == 65 && wrongPassword.stderr.contains("password authentication failed"), "\(wrongPassword)")
            #expect(!wrongPassword.stderr.contains(secret) && !wrongPassword.stdout.contains(secret))
            let inURL = try list("postgres://trustgate:\(secret)@localhost:\(cluster.port)/\(database)")
            #expect(inURL.status == 64 && !inURL.stderr.contains(secret), "\(inURL)")
            let good = try list(cluster.url(database: database))
            #expect(good.status == 0, "\(good)")
        }
    }
}
