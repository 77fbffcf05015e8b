import Foundation
import Logging
import Testing
import TrustGateAllowList
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

@Suite("AllowListWatcher: a change in the store is enforced without a restart")
struct AllowListWatcherTests {
    @Test("One poll loads a change made through the store and says so; a poll with no change does nothing")
    func reload() async throws {
        try await withTemporaryDirectory { dir in
            let store = try SQLiteAllowListStore(path: dir.file("store.sqlite"))
            let state = try AllowListState.load(gateway: "g", from: store)
            #expect(state.version == 0 && state.policy.entries.isEmpty)
            // The poll itself, driven by the test: the watcher's task only repeats it on a timer.
            var watch = AllowListWatcher.Watch(store: store, state: state, health: StoreHealth(), logger: Logger(label: "test"))
            let idle = watch.tick()
            #expect(!idle, "nothing changed")
            let pki = try TestPKI()
            let root = try EntryRegistration(gateway: "g").entry(
                from: CertificateBundle(format: .pem, certificates: [pki.root.certificate], privateKeys: []), file: "root.pem",
                actor: "test"
            )
            _ = try store.add(root, ifVersion: nil)
            let changed = watch.tick()
            #expect(changed, "the change is reported")
            #expect(state.version == 1)
            #expect(state.policy.entries.map(\.name) == [root.name])
            let again = watch.tick()
            #expect(!again, "and reported once")
        }
    }
}
