import NIOHTTP1
import Testing
@testable import TrustGateGateway

@Suite("Hop-by-hop headers are not forwarded")
struct HopByHopTests {
    @Test("The fixed set, and the names Connection lists, go; Transfer-Encoding and end-to-end headers stay in order")
    func removal() {
        var headers = HTTPHeaders([
            ("Host", "a.test"), ("Connection", "keep-alive, X-Private"), ("Keep-Alive", "timeout=5"),
            ("x-private", "secret"), ("TE", "trailers"), ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"),
            ("Accept", "*/*"), ("Proxy-Authorization", "Basic x"), ("Expect", "100-continue"), ("Cookie", "a=1"),
        ])
        ProxyHandler.removeHopByHop(&headers)
        #expect(headers.map { "\($0.name): \($0.value)" } == [
            "Host: a.test", "Transfer-Encoding: chunked", "Accept: */*", "Expect: 100-continue", "Cookie: a=1",
        ])
        ProxyHandler.removeHopByHop(&headers, alsoExpect: true)
        #expect(headers.map(\.name) == ["Host", "Transfer-Encoding", "Accept", "Cookie"])
    }

    @Test("Connection: close and a Connection naming Transfer-Encoding do not remove anything else")
    func connectionTokens() {
        var headers = HTTPHeaders([("connection", "close, transfer-encoding"), ("transfer-encoding", "chunked"), ("close", "x")])
        ProxyHandler.removeHopByHop(&headers)
        #expect(headers.map(\.name) == ["transfer-encoding", "close"])
        var untouched = HTTPHeaders([("Host", "a"), ("Accept", "*/*")])
        ProxyHandler.removeHopByHop(&untouched, alsoExpect: true)
        #expect(untouched.map(\.name) == ["Host", "Accept"])
    }
}
