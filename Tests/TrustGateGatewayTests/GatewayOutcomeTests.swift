import Foundation
import Testing
import TrustGatePKI
@testable import TrustGateGateway

@Suite("GatewayOutcome: one vocabulary for headers, logs, metrics and health JSON")
struct GatewayOutcomeTests {
    @Test("Every reason category and every gateway outcome round-trips through its raw value and JSON, none shared")
    func roundTrip() throws {
        let all = ReasonCategory.allCases.map(GatewayOutcome.verdict) + GatewayOutcome.own
        #expect(Set(all.map(\.rawValue)).count == all.count, "raw values are unique")
        for outcome in all {
            #expect(GatewayOutcome(rawValue: outcome.rawValue) == outcome)
            let json = try JSONEncoder().encode([outcome])
            #expect(String(decoding: json, as: UTF8.self) == "[\"\(outcome.rawValue)\"]")
            #expect(try JSONDecoder().decode([GatewayOutcome].self, from: json) == [outcome])
        }
        #expect(GatewayOutcome(rawValue: "Hostname-Mismatch") == nil && GatewayOutcome(rawValue: "") == nil)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([GatewayOutcome].self, from: Data("[\"nope\"]".utf8)) }
    }
}
