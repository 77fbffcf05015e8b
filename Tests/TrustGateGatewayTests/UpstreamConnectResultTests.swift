import Testing
import TrustGatePKI
@testable import TrustGateGateway

@Suite("UpstreamConnectResult: one category and one detail per way a connection attempt ends")
struct UpstreamConnectResultTests {
    @Test("Each failure names its own category; a rejection names its verdict's")
    func categories() {
        let verdict = TrustVerdict(chain: [], problems: [TrustProblem(.expired, "expired yesterday")])
        let results: [(UpstreamConnectResult, ReasonCategory, String)] = [
            (.rejected(verdict, presented: []), .expired, verdict.detail),
            (.unreachable("refused"), .unreachable, "refused"),
            (.timeout("no TLS handshake within 2 s"), .timeout, "no TLS handshake within 2 s"),
            (.handshakeFailed("alert 40"), .handshakeFailed, "alert 40"),
        ]
        for (result, category, detail) in results {
            #expect(result.category == category)
            #expect(result.detail == detail)
        }
    }
}
