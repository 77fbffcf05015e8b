import Foundation
import Testing
import TrustGateAllowList
import TrustGateTesting

@Suite("trustgate store status and store copy")
struct StoreCommandTests {
    struct Status: Decodable {
        var kind: String
        var location: String
        var reachable: Bool
        var error: String?
        var schemaVersion: Int?
        var gateways: [GatewaySummary]
    }

    @Test("SQLite → PostgreSQL → SQLite: entries, versions and history kept; a second copy refused whole; status in JSON")
    func copyBothWays() async throws {
        let url = try TestPostgres.shared().newStoreURL()
        try await withTestPKI(in: "pki") { dir in
            func run(_ arguments: [String]) throws -> ProcessResult {
                try TrustGateBinary.run(arguments, in: dir.path, environment: ["TRUSTGATE_STORE": dir.file("a.sqlite")])
            }
            #expect(try run(["allowlist", "add", "--gateway", "g1", "pki/root-ca.pem"]).status == 0)
            #expect(try run(["allowlist", "add", "--gateway", "g1", "pki/backend-valid.pem"]).status == 0)
            #expect(try run(["allowlist", "remove", "--gateway", "g1", "backend.test"]).status == 0)
            #expect(try run(["allowlist", "add", "--gateway", "g2", "pki/backend-valid.pem"]).status == 0)
            let copied = try run(["store", "copy", "--from", "a.sqlite", "--to", url])
            #expect(copied.status == 0 && copied.stdout.contains("copied gateway g1: 1 entries, version 3, 3 history records (verified)"),
                    "\(copied)")
            let again = try run(["store", "copy", "--from", "a.sqlite", "--to", url])
            #expect(again.status == 1 && again.stderr.contains("already has gateway g1: nothing was copied"), "\(again)")
            let status = try run(["store", "status", "--store", url, "--json"])
            #expect(status.status == 0, "\(status)")
            let decoded = try JSONDecoder().decode(Status.self, from: Data(status.stdout.utf8))
            #expect(decoded.kind == "postgres" && decoded.reachable && decoded.schemaVersion == 1)
            #expect(decoded.gateways.map(\.name) == ["g1", "g2"] && decoded.gateways.map(\.version) == [3, 1])
            #expect(!status.stdout.contains("password-file"), "the URL is shown without its parameters")
            let back = try run(["store", "copy", "--from", url, "--to", "b.sqlite"])
            #expect(back.status == 0, "\(back)")
            let history = try TrustGateBinary.run(["allowlist", "history", "--gateway", "g1", "--json", "--store", "b.sqlite"],
                                                  in: dir.path)
            #expect(history.stdout.components(separatedBy: "\"action\"").count - 1 == 3, "\(history)")
            let missing = try run(["store", "copy", "--from", "nothing.sqlite", "--to", "c.sqlite"])
            #expect(missing.status == 66 && !FileManager.default.fileExists(atPath: dir.file("c.sqlite")), "\(missing)")
        }
    }

    @Test("status of a store that cannot be reached: what it knows, reachable false, exit 74")
    func statusDown() async throws {
        let server = try SilentBackend()
        let port = server.port
        server.stop()
        let url = "postgres://u@localhost:\(port)/d?sslrootcert=\(try TestPostgres.shared().rootFile)"
        try await withTemporaryDirectory { dir in
            let status = try TrustGateBinary.run(["store", "status", "--store", url, "--json"], in: dir.path)
            #expect(status.status == 74, "\(status)")
            let decoded = try JSONDecoder().decode(Status.self, from: Data(status.stdout.utf8))
            #expect(!decoded.reachable && decoded.error?.hasPrefix("store-unreachable") == true)
            let missing = try TrustGateBinary.run(["store", "status", "--store", "none.sqlite"], in: dir.path)
            #expect(missing.status != 0 && !FileManager.default.fileExists(atPath: dir.file("none.sqlite")), "\(missing)")
        }
    }
}
