import Foundation
import Testing
import TrustGateAllowList
import TrustGatePKI
import TrustGateTesting

@Suite("The PostgreSQL store: verified TLS, logins, concurrent writers, hostile servers")
struct PostgresStoreTests {
    static let pki = Result { try TestPKI() }

    func entry(_ name: String, gateway: String = "g1") throws -> AllowListEntry {
        let file = try #require(try Self.pki.get().files.first { $0.name == name })
        return try EntryRegistration(gateway: gateway, kind: nil, allowExpired: true)
            .entry(from: try CertificateBundle.decode(file.contents), file: name, actor: "test")
    }

    func openError(_ url: String, environment: [String: String] = [:]) -> AllowListError? {
        do {
            _ = try StoreLocation.open(url, environment: environment)
            return nil
        } catch {
            return error
        }
    }

    @Test("A wrong root is untrusted-root, a host the certificate does not name is hostname-mismatch; the right ones connect")
    func verifiedTLS() throws {
        let cluster = try TestPostgres.shared()
        let database = try cluster.createDatabase()
        let wrongRoot = openError(cluster.url(database: database, root: cluster.otherRootFile))
        #expect(wrongRoot?.code == .storeUntrusted && wrongRoot?.reason.contains("untrusted-root") == true, "\(String(describing: wrongRoot?.reason))")
        let wrongHost = openError(cluster.url(database: database, host: "127.0.0.1"))
        #expect(wrongHost?.code == .storeUntrusted && wrongHost?.reason.contains("hostname-mismatch") == true, "\(String(describing: wrongHost))")
        let store = try StoreLocation.open(cluster.url(database: database))
        #expect(try store.version(gateway: "g1") == 0)
        (store as? PostgresAllowListStore)?.close()
        // verify-ca checks the chain only: the address is then acceptable.
        let caOnly = cluster.url(database: database, host: "127.0.0.1").replacingOccurrences(of: "verify-full", with: "verify-ca")
        #expect(try StoreLocation.open(caOnly).gateways().isEmpty)
    }

    @Test("A wrong password, no password, an unknown database: clear errors that never carry the password")
    func logins() async throws {
        let cluster = try TestPostgres.shared()
        let database = try cluster.createDatabase()
        try await withTemporaryDirectory { dir in
            let wrong = "wrong-\(UUID().uuidString)"
            let file = try dir.write("wrong", text: wrong + "\n")
            let url = cluster.url(database: database).replacingOccurrences(of: cluster.passwordFile, with: file)
            let denied = openError(url)
            #expect(denied?.code == .storeAccessDenied && denied?.reason.contains("password authentication failed") == true,
                    "\(String(describing: denied))")
            #expect(!"\(String(describing: denied))".contains(wrong) && denied?.hint?.contains(wrong) != true)
            let viaEnvironment = openError(
                url.replacingOccurrences(of: "password-file=\(file)", with: "password-env=PGTEST"), environment: ["PGTEST": wrong]
            )
            #expect(viaEnvironment?.code == .storeAccessDenied && !"\(String(describing: viaEnvironment))".contains(wrong))
            let none = openError(url.replacingOccurrences(of: "&password-file=\(file)", with: ""), environment: ["HOME": dir.path])
            #expect(none?.code == .storeAccessDenied && none?.reason.contains("none was given") == true, "\(String(describing: none))")
            let unknown = openError(cluster.url(database: "nosuchdb"))
            #expect(unknown?.code == .storeAccessDenied && unknown?.reason.contains("nosuchdb") == true, "\(String(describing: unknown))")
            // .pgpass, as libpq reads it: 0600 only.
            let password = try String(contentsOfFile: cluster.passwordFile, encoding: .utf8).trimmingCharacters(in: .newlines)
            let passfile = try dir.write(".pgpass", text: "# comment\notherhost:*:*:*:nope\nlocalhost:\(cluster.port):*:\(TestPostgres.user):\(password)\n")
            chmod(passfile, 0o600)
            let bare = cluster.url(database: database).replacingOccurrences(of: "&password-file=\(cluster.passwordFile)", with: "")
            #expect(try StoreLocation.open(bare, environment: ["HOME": dir.path]).version(gateway: "x") == 0)
            chmod(passfile, 0o644)
            #expect(openError(bare, environment: ["HOME": dir.path])?.code == .storeAccessDenied, "a readable .pgpass is ignored")
        }
    }

    @Test("URLs are parsed strictly: a password in the URL, unknown parameters, bad ports are usage errors")
    func strictURLs() {
        let bad = [
            "postgres://user:secret@localhost/db?sslmode=disable",
            "postgres://user@localhost/db?sslmode=prefer",
            "postgres://user@localhost/db?sslmode=disable&sslmode=disable",
            "postgres://user@localhost/db?sslmode=verify-full",
            "postgres://user@localhost/db?sslmode=disable&application_name=x",
            "postgres://user@localhost:0/db?sslmode=disable",
            "postgres://user@localhost:99999/db?sslmode=disable",
            "postgres://user@localhost:5432",
            "postgres://localhost/db?sslmode=disable",
            "postgres://user@/db?sslmode=disable",
            "postgres://user@local%00host/db?sslmode=disable",
            "postgres://user@localhost/db?sslmode=disable&connect-timeout=0",
            "postgres://user@localhost/db?sslmode=disable&password-file=a&password-env=B",
        ]
        for url in bad {
            let error = openError(url)
            #expect(error?.code == .unsupportedStore, "\(url): \(String(describing: error))")
            #expect(!"\(String(describing: error))".contains("secret"))
        }
        let ipv6 = try? PostgresStoreURL("postgres://u@[::1]:6543/d?sslmode=require")
        #expect(ipv6?.host == "::1" && ipv6?.port == 6543 && ipv6?.description == "postgres://u@[::1]:6543/d")
    }

    @Test("8 writers × 25 adds on two gateways at once: every acknowledged add present once, versions contiguous, history complete")
    func concurrentWriters() async throws {
        let url = try TestPostgres.shared().newStoreURL()
        let seed = try entry("backend-valid.pem")
        let acknowledged = NSLock()
        nonisolated(unsafe) var versions: [String: [Int64]] = [:]
        DispatchQueue.concurrentPerform(iterations: 8) { writer in
            guard let store = try? StoreLocation.open(url) else { return }
            defer { (store as? PostgresAllowListStore)?.close() }
            let gateway = writer % 2 == 0 ? "east" : "west"
            for index in 0..<25 {
                var entry = seed
                entry.gateway = gateway
                entry.name = "w\(writer)-\(index)"
                entry.certificateSHA256 = String(format: "%064x", writer * 1000 + index)
                if let version = try? store.add(entry) {
                    acknowledged.withLock { versions[gateway, default: []].append(version) }
                }
            }
        }
        let store = try StoreLocation.open(url)
        for gateway in ["east", "west"] {
            let got = versions[gateway, default: []].sorted()
            #expect(got == Array(1...100), "\(gateway): every add acknowledged once, versions contiguous")
            let entries = try store.entries(gateway: gateway)
            #expect(entries.count == 100 && Set(entries.map(\.name)).count == 100)
            let history = try store.history(gateway: gateway)
            #expect(history.map(\.version) == Array(1...100) && history.allSatisfy { $0.action == "add" })
        }
    }

    @Test("Records copied between the stores keep entries, version and history; a second copy is refused")
    func restore() async throws {
        let postgres = try StoreLocation.open(try TestPostgres.shared().newStoreURL())
        try await withTemporaryDirectory { dir in
            let sqlite = try SQLiteAllowListStore(path: dir.file("store.sqlite"))
            try sqlite.add(try entry("backend-valid.pem"))
            try sqlite.add(try entry("root-ca.pem"))
            try sqlite.remove(gateway: "g1", selector: "backend.test", actor: "test")
            let records = try sqlite.records(gateway: "g1")
            try postgres.restore(records)
            let copied = try postgres.records(gateway: "g1")
            #expect(copied.version == 3 && copied.entries == records.entries)
            #expect(copied.history.map(\.action) == ["add", "add", "remove"] && copied.history.map(\.version) == [1, 2, 3])
            let again = #expect(throws: AllowListError.self) { try postgres.restore(records) }
            #expect(again?.code == .refused)
            let back = try SQLiteAllowListStore(path: dir.file("back.sqlite"))
            try back.restore(copied)
            #expect(try back.records(gateway: "g1").entries == records.entries)
        }
    }
}

@Suite("The PostgreSQL store against hostile or broken servers")
struct PostgresHostileServerTests {
    func openError(port: Int, mode: String = "verify-full") throws -> AllowListError? {
        let url = "postgres://u@localhost:\(port)/d?sslmode=\(mode)&sslrootcert=\(try TestPostgres.shared().rootFile)"
            + "&connect-timeout=1"
        do {
            _ = try StoreLocation.open(url, environment: [:])
            return nil
        } catch {
            return error
        }
    }

    @Test("Plaintext after the server's 'S' (CVE-2021-23222), a refusal of TLS, a wrong answer, silence: refused, in bounded time")
    func hostileAnswers() throws {
        let cases: [([UInt8]?, String)] = [
            (Array("SE\u{0}\u{0}\u{0}\u{4}".utf8), "sent data after accepting TLS"),
            (Array("N".utf8), "does not accept TLS"),
            (Array("X".utf8), "answered the TLS request with byte 88"),
            (Array("S".utf8) + [UInt8](repeating: 0x16, count: 3), "sent data after accepting TLS"),
            (nil, "did not complete the TLS handshake in time"),
        ]
        for (reply, expected) in cases {
            let server = try SilentBackend(reply: reply)
            defer { server.stop() }
            let started = Date()
            let error = try openError(port: server.port)
            #expect(error?.code == .storeUnreachable && error?.reason.contains(expected) == true,
                    "\(String(describing: reply)): \(String(describing: error))")
            #expect(Date().timeIntervalSince(started) < 10, "bounded by connect-timeout")
        }
    }

    @Test("A store URL whose server is down: store-unreachable, at once")
    func serverDown() throws {
        let server = try SilentBackend()
        let port = server.port
        server.stop()
        let error = try openError(port: port)
        #expect(error?.code == .storeUnreachable, "\(String(describing: error))")
    }
}

@Suite("The PostgreSQL store when a statement never completes")
struct PostgresStatementTimeoutTests {
    @Test("A table locked elsewhere: the read gives up after statement-timeout, store-unreachable, and the next read works")
    func lockedTable() async throws {
        let cluster = try TestPostgres.shared()
        let database = try cluster.createDatabase()
        let store = try StoreLocation.open(cluster.url(database: database, extra: "&statement-timeout=1"))
        #expect(try store.version(gateway: "g") == 0, "the schema exists")
        let holder = try cluster.psql(database: database, "BEGIN; LOCK TABLE trustgate_gateway; SELECT pg_sleep(4); COMMIT;")
        defer { holder.stop() }
        usleep(500_000)
        let started = Date()
        let error = #expect(throws: AllowListError.self) { try store.version(gateway: "g") }
        #expect(error?.code == .storeUnreachable && error?.reason.contains("did not answer within 1 s") == true,
                "\(String(describing: error))")
        #expect(Date().timeIntervalSince(started) < 3)
        _ = holder.waitForExit(timeout: 10)
        #expect(try store.version(gateway: "g") == 0, "a new connection once the lock is gone")
    }
}
