import Foundation
import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("ProxyExchange: failover and retry decisions for one request")
struct ProxyExchangeTests {
    static let configuration = GatewayConfiguration(
        gateway: "g", store: nil, listeners: [],
        pools: [
            .init(name: "two", members: [.init(host: "10.0.0.1", port: 443), .init(host: "10.0.0.2", port: 443)]),
            .init(name: "one", members: [.init(host: "10.0.0.3", port: nil)]),
        ],
        backendSettings: [.init(name: "s", scheme: .https, port: 8443, hostName: "b.test", pickHostNameFromMember: false,
                                trust: .trustedRoot, requestTimeout: 30, connectTimeout: 10)],
        rules: [.init(name: "r", listener: "l", pool: "two", settings: "s", paths: [.init(match: "/one/*", pool: "one", settings: "s")])]
    )

    static func exchange(_ path: String, head text: String? = nil) throws -> ProxyExchange {
        let router = Router(configuration: configuration)
        let route = try #require(router.route(listener: "l", path: path))
        let request = try HTTP1.Request(HTTP1.parse(Array((text ?? "GET \(path) HTTP/1.1\r\nHost: gw.test\r\n\r\n").utf8), request: true))
        guard case .member(let member) = router.pick(route.pool) else { throw HTTP1.ParseError.malformed("no member") }
        return ProxyExchange(id: 1, request: request, router: router, route: route, member: member)
    }

    @Test("Failover moves to a member not yet tried, once per member; a pool of one never fails over")
    func failover() throws {
        let first = try Self.exchange("/x")
        #expect(first.target == "10.0.0.1:8443", "the settings' port wins, as in Azure")
        let second = try #require(first.failingOver())
        #expect(second.target == "10.0.0.2:8443")
        #expect(second.failingOver() == nil)
        let single = try Self.exchange("/one/a")
        #expect(single.target == "10.0.0.3:8443")
        #expect(single.failingOver() == nil)
    }

    @Test("A request goes again on a new connection only when it came from the pool and sent no body")
    func retry() throws {
        var exchange = try Self.exchange("/x")
        #expect(exchange.retryingOnNewConnection() == nil)
        exchange.fromPool = true
        let again = try #require(exchange.retryingOnNewConnection())
        #expect(again.avoidPool && !again.fromPool)
        #expect(again.retryingOnNewConnection() == nil, "once")
        exchange.bodySent = true
        #expect(exchange.retryingOnNewConnection() == nil)
    }
}
