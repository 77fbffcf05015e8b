import Foundation
import Logging
import Testing
import TrustGateAllowList
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

@Suite("AllowListWatcher: a change in the store is enforced without a restart")
struct AllowListWatcherTests {
    @Test("A change made through the store is loaded within a few polls, and reported once")
    func reload() async throws {
        try await withTemporaryDirectory { dir in
            let store = try SQLiteAllowListStore(path: dir.file("store.sqlite"))
            let state = try AllowListState.load(gateway: "g", from: store)
            #expect(state.version == 0 && state.policy.entries.isEmpty)
            let changes = Changes()
            let watcher = AllowListWatcher(store: store, state: state, health: StoreHealth(), interval: .milliseconds(20),
                                           logger: Logger(label: "test")) { changes.add() }
            defer { watcher.stop() }
            let pki = try TestPKI()
            let root = try EntryRegistration(gateway: "g").entry(
                from: CertificateBundle(format: .pem, certificates: [pki.root.certificate], privateKeys: []), file: "root.pem",
                actor: "test"
            )
            _ = try store.add(root, ifVersion: nil)
            // Polled every 20 ms: waited for at most 10 s (a loaded machine), not forever.
            let deadline = ContinuousClock.now + .seconds(10)
            while state.version == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(state.version == 1)
            #expect(state.policy.entries.map(\.name) == [root.name])
            try await Task.sleep(for: .milliseconds(100))
            #expect(changes.count == 1, "one change, one report")
        }
    }

    final class Changes: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func add() { lock.withLock { value += 1 } }
        var count: Int { lock.withLock { value } }
    }
}
