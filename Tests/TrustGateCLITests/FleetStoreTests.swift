import Foundation
import Testing
import TrustGateTesting

/// Several `gateway run` processes on one PostgreSQL store, as a fleet runs: changes pushed to all of them, and
/// PostgreSQL killed and restarted under them. The cluster is the test's own (it is killed).
@Suite("gateway run: a fleet of gateways on one PostgreSQL store")
struct FleetStoreTests {
    struct Member: Sendable {
        let process: BackgroundProcess
        let port: Int
        let admin: Int
        /// A client connection kept open to the member's listener, as a browser's would be.
        let client: KeepAliveClient
    }

    static func launch(_ index: Int, harness: GatewayHarness, backendPort: Int) throws -> BackgroundProcess {
        let dir = harness.directory
        try dir.write("gw\(index).yaml", text: """
            gateway: g
            store-snapshot: snapshot-\(index).json
            admin: {port: 0}
            listeners:
              - {name: main, address: 127.0.0.1, port: 0, certificate: {pfx: pki/gateway-listener.pfx, password-file: pki/gateway-listener.pass}}
            \(GatewayHarness.onePool(memberPort: backendPort))

            """)
        return try BackgroundProcess(
            try TrustGateBinary.path, ["gateway", "run", "--config", "gw\(index).yaml"], currentDirectory: dir.path,
            environment: harness.environment
        )
    }

    static func start(_ index: Int, harness: GatewayHarness, backendPort: Int) throws -> Member {
        let process = try launch(index, harness: harness, backendPort: backendPort)
        let port = Int(try process.waitFor("listening main on 127\\.0\\.0\\.1:([0-9]+)")) ?? 0
        let admin = Int(try process.waitFor("admin listening on 127\\.0\\.0\\.1:([0-9]+)")) ?? 0
        let client = try KeepAliveClient(
            serverName: "gateway.test", port: port, root: harness.directory.file("pki/root-ca.pem")
        )
        return Member(process: process, port: port, admin: admin, client: client)
    }

    /// The status of `GET /` on the member's open client connection.
    static func status(_ member: Member) -> Int? {
        member.client.status()
    }

    /// The status of `GET /` from a new `curl` process: a new client connection.
    static func status(_ member: Member, root: String) -> String {
        let result = try? ProcessRunner.run("curl", [
            "-s", "--max-time", "5", "--cacert", root, "--resolve", "gateway.test:\(member.port):127.0.0.1",
            "-o", "/dev/null", "-w", "%{http_code}", "https://gateway.test:\(member.port)/",
        ])
        return result?.stdout ?? "curl failed"
    }

    static func healthz(_ member: Member) -> String {
        (try? ProcessRunner.run("curl", ["-s", "--max-time", "5", "http://127.0.0.1:\(member.admin)/healthz"]))?.stdout ?? ""
    }

    /// Seconds until `condition` holds for every member, or nil after `limit`. Each member is polled (every 20 ms)
    /// on a thread of its own, so what is measured is the slowest member, not the sum of one poll of each: under
    /// a loaded machine one `curl` through a gateway can take a few hundred milliseconds.
    static func secondsUntil(
        _ members: [Member], limit: TimeInterval = 5, _ condition: @escaping @Sendable (Member) -> Bool
    ) -> TimeInterval? {
        let start = Date()
        let times = Times(count: members.count)
        let group = DispatchGroup()
        for (index, member) in members.enumerated() {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                while !condition(member) {
                    guard Date().timeIntervalSince(start) < limit else { return }
                    usleep(20_000)
                }
                let elapsed = Date().timeIntervalSince(start)
                times.set(index, elapsed)
            }
            thread.start()
        }
        group.wait()
        let all = times.values
        guard all.allSatisfy({ $0 != nil }) else { return nil }
        return all.compactMap { $0 }.max() ?? 0
    }

    /// What each polling thread measured.
    final class Times: @unchecked Sendable {
        private let lock = NSLock()
        private var seconds: [TimeInterval?]
        init(count: Int) { seconds = Array(repeating: nil, count: count) }
        func set(_ index: Int, _ value: TimeInterval) { lock.withLock { seconds[index] = value } }
        var values: [TimeInterval?] { lock.withLock { seconds } }
    }

    @Test("remove → 502 on all three within 1 s, add → 200 within 1 s; PostgreSQL killed: the last allow-list kept, /healthz unreachable, a fourth gateway starts from its snapshot; restarted: all converge within 2 s")
    func fleet() async throws {
        // A minute of processes and polling: on a thread of its own, so the cooperative pool stays free.
        try await blocking { try Self.fleetScenario() }
    }

    static func fleetScenario() throws {
        let cluster = try TestPostgres()
        defer { cluster.stop() }
        let url = cluster.url(database: try cluster.createDatabase())
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        do {
            let harness = try GatewayHarness(in: dir, registerRoot: false, environment: ["TRUSTGATE_STORE": url])
            defer { harness.stop() }
            try harness.allowlist(["add", "--gateway", "g", "pki/root-ca.pem", "--name", "root"])
            let (_, backendPort) = try harness.opensslBackend("valid")
            var members: [Member] = []
            defer {
                for member in members {
                    member.client.close()
                    member.process.stop()
                }
            }
            for index in 1...3 { members.append(try Self.start(index, harness: harness, backendPort: backendPort)) }
            let root = dir.file("pki/root-ca.pem")
            #expect(members.allSatisfy { Self.status($0, root: root) == "200" && Self.status($0) == 200 })

            try harness.allowlist(["remove", "--gateway", "g", "root"])
            let refused = Self.secondsUntil(members) { Self.status($0) == 502 }
            #expect(refused.map { $0 < 1 } == true, "502 everywhere within 1 s: \(String(describing: refused))")
            #expect(members.allSatisfy { Self.status($0, root: root) == "502" }, "a new client connection is refused too")
            try harness.allowlist(["add", "--gateway", "g", "pki/root-ca.pem", "--name", "root"])
            let restored = Self.secondsUntil(members) { Self.status($0) == 200 }
            #expect(restored.map { $0 < 1 } == true, "200 everywhere within 1 s: \(String(describing: restored))")
            #expect(members.allSatisfy { Self.status($0, root: root) == "200" }, "a new client connection is served too")

            cluster.kill()
            let noticed = Self.secondsUntil(members) { Self.healthz($0).contains("store: unreachable since") }
            #expect(noticed != nil, "/healthz says unreachable: \(members.map { Self.healthz($0) })")
            #expect(members.allSatisfy { Self.status($0, root: root) == "200" }, "the last allow-list is still enforced")
            // A fourth gateway, started while PostgreSQL is down, from the snapshot its peer kept.
            try FileManager.default.copyItem(atPath: dir.file("snapshot-1.json"), toPath: dir.file("snapshot-4.json"))
            members.append(try Self.start(4, harness: harness, backendPort: backendPort))
            #expect(Self.status(members[3], root: root) == "200", "the fourth serves from its snapshot")
            let fourth = Self.healthz(members[3])
            #expect(fourth.contains("store: unreachable since"), "\(fourth)")
            // And one with no snapshot does not start at all: never with an empty allow-list.
            let lone = try Self.launch(5, harness: harness, backendPort: backendPort)
            defer { lone.stop() }
            #expect(lone.waitForExit(timeout: 15) == 74, "\(lone.output)")
            #expect(lone.output.contains("no allow-list snapshot at"), "\(lone.output)")

            try cluster.start()
            try harness.allowlist(["add", "--gateway", "g", "pki/backend-valid.pem", "--name", "pin-1"])
            try harness.allowlist(["add", "--gateway", "g", "pki/gateway-listener.pem", "--name", "pin-2"])
            let versions = try harness.allowlist(["gateways", "--json"]).stdout
            #expect(versions.contains("\"version\" : 5"), "\(versions)")
            let converged = Self.secondsUntil(members) { Self.healthz($0).contains("store: reachable, version 5") }
            #expect(converged.map { $0 < 2 } == true, "every gateway at version 5 within 2 s: \(members.map { Self.healthz($0) })")
        }
    }
}
