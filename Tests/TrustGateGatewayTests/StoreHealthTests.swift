import Foundation
import Testing
import TrustGateAllowList
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

@Suite("StoreHealth: the store's reachability as the gateway reports it")
struct StoreHealthTests {
    @Test("Store health: one report per change of state, and the /healthz line says which")
    func storeHealth() {
        let health = StoreHealth()
        #expect(health.line(version: 2) == "allow-list: current, version 2")
        #expect(!health.current())
        #expect(health.stale("the store file is missing"))
        #expect(!health.stale("the store file is missing"), "the same failure again is not news")
        #expect(health.stale("not an SQLite database"), "another reason is")
        #expect(health.line(version: 2).hasPrefix("allow-list: stale since "))
        #expect(health.line(version: 2).hasSuffix("not an SQLite database; enforcing version 2"))
        #expect(health.current())
        #expect(!health.current())
    }
}
