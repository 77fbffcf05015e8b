import Foundation
import Testing
import TrustGateAllowList
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

@Suite("UpstreamAdmission: what a verdict admits")
struct UpstreamAdmissionTests {
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
}
