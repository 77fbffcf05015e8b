import Foundation
import Testing
import TrustGateAllowList
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

@Suite("AllowListState: generations and expiries of the allow-list in force")
struct AllowListStateTests {
    @Test("An entry's expiry starts a new generation at that instant, and the policy no longer has the entry")
    func expiryGeneration() throws {
        let leaf = try CustomCertificate("backend.test", ca: false, sans: [.dnsName("backend.test")]).certificate
        let now = Date()
        var entry = try EntryRegistration(gateway: "g", kind: .pinned)
            .entry(from: CertificateBundle(format: .pem, certificates: [leaf], privateKeys: []), file: "f", actor: "t")
        entry.expiresAt = now.addingTimeInterval(0.3)
        let state = AllowListState(gateway: "g", version: 7, entries: [entry], now: now)
        let first = state.generation
        #expect(state.policy.entries.count == 1)
        #expect(state.generation == first, "no change before the expiry")
        Thread.sleep(forTimeInterval: 0.4)
        #expect(state.generation == first + 1)
        #expect(state.policy.entries.isEmpty)
        #expect(state.version == 7, "the store's version is unchanged")
        state.replace(version: 8, entries: [])
        #expect(state.generation == first + 2)
    }
}
