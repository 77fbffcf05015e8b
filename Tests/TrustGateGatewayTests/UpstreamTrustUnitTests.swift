import Foundation
import Testing
import TrustGateAllowList
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

/// The pieces of the upstream trust path that need no socket: the Certificate message reader, the generation
/// and expiry bookkeeping of the allow-list in force, and what a verdict admits.
@Suite("Upstream trust: Certificate messages, allow-list generations, admissions")
struct UpstreamTrustUnitTests {
    static func u24(_ value: Int) -> [UInt8] { [UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }

    static func message(_ certificates: [[UInt8]], tls13: Bool) -> [UInt8] {
        let entries: [UInt8] = certificates.flatMap { u24($0.count) + $0 + (tls13 ? [0, 0] : []) }
        let body: [UInt8] = (tls13 ? [0] : []) + u24(entries.count) + entries
        return [11] + u24(body.count) + body
    }

    @Test("A Certificate message gives its certificates in order; any length that does not add up is refused")
    func certificateMessage() throws {
        let one = try CustomCertificate("a.test", ca: false).certificate.der
        let two = try CustomCertificate("b.test", ca: true).certificate.der
        for tls13 in [false, true] {
            let message = Self.message([one, two], tls13: tls13)
            #expect(TLSCertificateMessage.certificates(message, tls13: tls13) == [one, two])
            // Read with the other version's framing, the same bytes do not add up.
            #expect(TLSCertificateMessage.certificates(message, tls13: !tls13) == nil)
            // Cut anywhere, or one byte too many: refused.
            for cut in [1, 4, 5, 9, message.count / 2, message.count - 1] {
                #expect(TLSCertificateMessage.certificates(Array(message.prefix(cut)), tls13: tls13) == nil, "cut at \(cut)")
            }
            #expect(TLSCertificateMessage.certificates(message + [0], tls13: tls13) == nil)
            // An empty certificate entry, and a message of another type.
            #expect(TLSCertificateMessage.certificates(Self.message([[]], tls13: tls13), tls13: tls13) == nil)
            #expect(TLSCertificateMessage.certificates([12] + message.dropFirst(), tls13: tls13) == nil)
        }
        // An empty list is a message without certificates (then refused by PresentedChain, as malformed).
        #expect(TLSCertificateMessage.certificates(Self.message([], tls13: false), tls13: false) == [])
    }

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

    @Test("An admission holds only under its generation and until the first notAfter of the verdict's chain")
    func admission() throws {
        let soon = Date().addingTimeInterval(60)
        let short = try CustomCertificate("a.test", ca: false, notAfter: soon).certificate
        let long = try CustomCertificate("Root", ca: true).certificate
        let admission = UpstreamAdmission(generation: 3, verdict: TrustVerdict(chain: [short, long], problems: []))
        #expect(admission.admits(generation: 3, at: Date()))
        #expect(!admission.admits(generation: 4, at: Date()))
        #expect(!admission.admits(generation: 3, at: soon.addingTimeInterval(2)))
    }

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
