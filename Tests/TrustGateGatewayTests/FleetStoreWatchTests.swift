import Foundation
import Logging
import Testing
import TrustGateAllowList
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

@Suite("A gateway on a PostgreSQL store: when it reads, what it keeps, how it starts")
struct FleetStoreWatchTests {
    static let pki = Result { try TestPKI() }

    func root(gateway: String = "g") throws -> AllowListEntry {
        try EntryRegistration(gateway: gateway).entry(
            from: CertificateBundle(format: .pem, certificates: [try Self.pki.get().root.certificate], privateKeys: []),
            file: "root.pem", actor: "test"
        )
    }

    @Test("Read on the doorbell and every 30 s, not in between; every load snapshotted")
    func schedule() async throws {
        let url = try TestPostgres.shared().newStoreURL()
        let store = try StoreLocation.open(url)
        let writer = try StoreLocation.open(url)
        try await withTemporaryDirectory { dir in
            let state = try AllowListState.load(gateway: "g", from: store)
            let doorbell = AllowListWatcher.Doorbell()
            let health = StoreHealth(remote: true)
            var watch = AllowListWatcher.Watch(
                store: store, state: state, health: health, snapshot: dir.file("snap.json"), logger: Logger(label: "test"),
                doorbell: doorbell
            )
            let start = ContinuousClock.now
            let first = watch.tick(now: start)
            #expect(!first, "the first read finds version 0")
            _ = try writer.add(try root())
            let early = watch.tick(now: start + .seconds(1))
            #expect(!early && state.version == 0, "no notification, not yet 30 s: no read")
            doorbell.ring()
            let rung = watch.tick(now: start + .seconds(2))
            #expect(rung && state.version == 1, "the doorbell makes it read")
            let snapshot = try #require(try AllowListSnapshot.read(from: dir.file("snap.json"), gateway: "g"))
            let rootName = try root().name
            #expect(snapshot.version == 1 && snapshot.entries.map(\.name) == [rootName] && snapshot.store == store.location)
            _ = try writer.remove(gateway: "g", selector: try root().name, actor: "test")
            let quiet = watch.tick(now: start + .seconds(31))
            #expect(!quiet, "30 s after the last read is 32 s")
            let safetyNet = watch.tick(now: start + .seconds(33))
            #expect(safetyNet && state.version == 2, "the 30 s safety net reads without a notification")
            #expect(health.line(version: state.version) == "store: reachable, version 2")
        }
    }

    @Test("The doorbell: a ring wakes the waiting loop, a ring before the wait is not lost, cancellation ends the wait")
    func doorbell() async {
        let bell = AllowListWatcher.Doorbell()
        bell.ring()
        await bell.wait()
        #expect(bell.take() && !bell.take(), "rung once, taken once")
        let waiting = Task { await bell.wait() }
        try? await Task.sleep(for: .milliseconds(20))
        bell.ring()
        await waiting.value
        #expect(bell.take())
        let cancelled = Task { await bell.wait() }
        cancelled.cancel()
        await cancelled.value
        #expect(!bell.take(), "a cancelled wait rings nothing")
    }

    @Test("A snapshot of another gateway, another format or not JSON is refused; a missing one is none")
    func snapshots() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir.file("state/g.json")
            #expect(try AllowListSnapshot.read(from: path, gateway: "g") == nil)
            try AllowListSnapshot(gateway: "g", store: "s", version: 7, entries: [try root()]).write(to: path)
            #expect(try AllowListSnapshot.read(from: path, gateway: "g")?.version == 7)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("state")) == ["g.json"], "no temporary file left")
            #expect(throws: AllowListError.self) { try AllowListSnapshot.read(from: path, gateway: "other") }
            try dir.write("state/g.json", text: "{\"format\": \"x\"")
            #expect(throws: AllowListError.self) { try AllowListSnapshot.read(from: path, gateway: "g") }
            var foreign = AllowListSnapshot(gateway: "g", store: "s", version: 1, entries: [try root(gateway: "h")])
            try foreign.write(to: path)
            #expect(throws: AllowListError.self) { try AllowListSnapshot.read(from: path, gateway: "g") }
            foreign.format = "trustgate-allowlist-snapshot/9"
            foreign.entries = []
            try foreign.write(to: path)
            #expect(throws: AllowListError.self) { try AllowListSnapshot.read(from: path, gateway: "g") }
        }
    }

    @Test("Starting while the store is unreachable: from the snapshot, marked unreachable; without one, refused")
    func startingDown() async throws {
        let server = try SilentBackend()
        let port = server.port
        server.stop()
        let down = try StoreLocation.open(
            "postgres://u@localhost:\(port)/d?sslrootcert=\(try TestPostgres.shared().rootFile)", lazily: true
        )
        try await withTemporaryDirectory { dir in
            var configuration = GatewayConfiguration(gateway: "g", store: nil, listeners: [], pools: [], backendSettings: [], rules: [])
            configuration.storeSnapshot = dir.file("g.json")
            var refused: AllowListError?
            do throws(AllowListError) {
                _ = try StartingAllowList.load(configuration: configuration, store: down, logger: Logger(label: "test"))
            } catch {
                refused = error
            }
            let code = refused?.code
            let reason = refused?.reason ?? ""
            #expect(code == .storeUnreachable)
            #expect(reason.contains("no allow-list snapshot at"), "\(reason)")
            try AllowListSnapshot(gateway: "g", store: down.location, version: 4, entries: [try root()]).write(to: dir.file("g.json"))
            let started = try StartingAllowList.load(configuration: configuration, store: down, logger: Logger(label: "test"))
            let version = started.state.version
            let count = started.state.policy.entries.count
            #expect(version == 4)
            #expect(count == 1)
            guard case .stale = started.status else {
                Issue.record("a start from the snapshot is marked unreachable")
                return
            }
            let line = StoreHealth(remote: true, initial: started.status).line(version: 4)
            #expect(line.hasPrefix("store: unreachable since "), "\(line)")
            #expect(line.contains("enforcing version 4"), "\(line)")
        }
    }
}
