import Foundation
import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("ProxyExchange, UpstreamRequestHead, ExchangeRecord, PipelineQueue: one request's journey")
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

    @Test("The backend's head: HTTP/1.1, Host naming the backend, X-Forwarded-For appended to, the client's X-Forwarded-* replaced")
    func upstreamHead() throws {
        let exchange = try Self.exchange("/x", head: "GET /x?y HTTP/1.1\r\nHost: gw.test\r\nX-Forwarded-For: 203.0.113.9\r\n"
            + "X-Forwarded-Proto: gopher\r\nConnection: close\r\nExpect: 100-continue\r\nAccept: */*\r\n\r\n")
        var buffer = ByteBuffer()
        UpstreamRequestHead(clientAddress: "192.0.2.7", scheme: "https", port: "443").write(exchange, into: &buffer)
        let text = String(buffer: buffer)
        #expect(text.hasPrefix("GET /x?y HTTP/1.1\r\nHost: b.test:8443\r\n"), "\(text)")
        #expect(text.contains("Accept: */*\r\n"))
        #expect(text.contains("X-Forwarded-For: 203.0.113.9, 192.0.2.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\n"
                              + "X-Forwarded-Host: gw.test\r\nX-Original-Host: gw.test\r\n\r\n"))
        for gone in ["gopher", "Connection", "Expect"] { #expect(!text.contains(gone), "\(gone) in \(text)") }
    }

    @Test("The access-log record: the request's fields, the backend's time, the whole duration")
    func record() throws {
        let exchange = try Self.exchange("/x")
        let start = NIODeadline.uptimeNanoseconds(1_000)
        var record = ExchangeRecord(request: exchange.request, start: start)
        #expect(record.upstreamNanoseconds == nil)
        record.upstreamSentAt = start + .nanoseconds(100)
        record.upstreamAnsweredAt = start + .nanoseconds(400)
        record.pool = "two"
        record.member = exchange.target
        let line = record.accessLogRecord(client: "c", status: 200, bodyBytes: 5, now: start + .nanoseconds(1_000), time: .init())
        #expect(line.upstreamNanoseconds == 300 && line.durationNanoseconds == 1_000)
        #expect((line.method, line.path, line.host, line.member, line.pool) == ("GET", "/x", "gw.test", "10.0.0.1:8443", "two"))
    }

    @Test("The pipeline queue counts what it holds, in order, and is over its limit past 64 KiB")
    func pipeline() throws {
        var queue = PipelineQueue()
        queue.append(.body(ByteBuffer(repeating: 0, count: 65_000)))
        queue.append(.end)
        #expect(queue.bytes == 65_016 && !queue.isOverLimit)
        queue.append(.body(ByteBuffer(repeating: 0, count: 1_000)))
        #expect(queue.isOverLimit)
        guard case .body(let first) = queue.popFirst(), first.readableBytes == 65_000 else {
            Issue.record("the first part first")
            return
        }
        #expect(queue.bytes == 1_016)
        queue.removeAll()
        #expect(queue.isEmpty && queue.bytes == 0)
    }
}
