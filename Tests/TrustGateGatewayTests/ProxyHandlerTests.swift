import Logging
import NIOCore
import NIOEmbedded
import Testing
import TrustGateAllowList
@testable import TrustGateGateway

/// ``ProxyHandler`` on an `EmbeddedChannel`: the gateway's own answers and timeouts, with no process, socket or
/// backend, and time turned by hand.
@Suite("ProxyHandler on an EmbeddedChannel: own answers, pipelining, refusals, timeouts, draining")
struct ProxyHandlerTests {
    static let configuration = GatewayConfiguration(
        gateway: "g", store: nil,
        listeners: [
            .init(name: "plain", address: "127.0.0.1", port: 8080, scheme: .http, certificate: nil, hostNames: [], tls: .default),
            .init(name: "secure", address: "127.0.0.1", port: 8443, scheme: .https, certificate: nil, hostNames: [], tls: .default),
            .init(name: "bare", address: "127.0.0.1", port: 8081, scheme: .http, certificate: nil, hostNames: [], tls: .default),
        ],
        pools: [.init(name: "two", members: [.init(host: "10.0.0.1", port: 443), .init(host: "10.0.0.2", port: 443)])],
        backendSettings: [.init(name: "s", scheme: .https, port: nil, hostName: "b.test", pickHostNameFromMember: false,
                                trust: .trustedRoot, requestTimeout: 30, connectTimeout: 10)],
        rules: [
            .init(name: "to-https", listener: "plain", pool: "two", settings: "s", paths: [], redirect: .init(listener: "secure")),
            .init(name: "api", listener: "secure", pool: "two", settings: "s", paths: []),
        ]
    )

    /// A client connection to `listener` (`secure`, `plain` or `bare`), connected from 192.0.2.7.
    static func connection(_ listener: String, routes: RouteTable? = nil) throws -> (EmbeddedChannel, ProxyHandler, RouteTable) {
        let routes = routes ?? RouteTable(Router(configuration: configuration))
        let environment = ProxyHandler.Environment(
            gateway: "g", listener: try #require(configuration.listeners.first { $0.name == listener }), boundPort: 8443,
            routes: routes, connector: try UpstreamConnector(state: AllowListState(gateway: "g", version: 1, entries: [])),
            connections: ClientConnections(), logger: Logger(label: "test"), metrics: GatewayMetrics(), accessLog: nil,
            boundPorts: BoundPorts()
        )
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.7", port: 50_000)).wait()
        let handler = ProxyHandler(environment: environment)
        try channel.pipeline.syncOperations.addHandler(handler)
        return (channel, handler, routes)
    }

    /// Everything written to the client so far, as text.
    static func output(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    @Test("No listener rules: 404 no-route for each of two pipelined requests, in order, and the connection stays")
    func noRoute() throws {
        let (channel, _, _) = try Self.connection("bare")
        try channel.writeInbound(ByteBuffer(string: "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\n"))
        let text = try Self.output(channel)
        #expect(text.components(separatedBy: "HTTP/1.1 404 Not Found\r\n").count == 3, "\(text)")
        #expect(text.contains("x-trustgate-reason: no-route\r\n"))
        #expect(!text.contains("connection: close"))
        #expect(channel.isActive)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("A redirect rule: 301 to the target listener's scheme and port, path and query kept; a bad Host is 400")
    func redirect() throws {
        let (channel, _, _) = try Self.connection("plain")
        try channel.writeInbound(ByteBuffer(string: "GET /x/y?q=1 HTTP/1.1\r\nHost: site.test:8080\r\n\r\n"))
        let text = try Self.output(channel)
        #expect(text.hasPrefix("HTTP/1.1 301 Moved Permanently\r\nlocation: https://site.test:8443/x/y?q=1\r\n"), "\(text)")
        #expect(channel.isActive)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("Every member marked down: 503 naming the latest category")
    func noneAvailable() throws {
        let (channel, _, routes) = try Self.connection("secure")
        let pool = Self.configuration.pools[0]
        routes.current.markDown(pool, pool.members[0], category: .verdict(.expired))
        routes.current.markDown(pool, pool.members[1], category: .verdict(.untrustedRoot))
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        let text = try Self.output(channel)
        #expect(text.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"), "\(text)")
        #expect(text.contains("x-trustgate-reason: untrusted-root\r\n"))
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("A request the parser refuses: its status, connection: close, the connection closed, and nothing read after")
    func refused() throws {
        let (channel, _, _) = try Self.connection("bare")
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
            + "GET /after HTTP/1.1\r\nHost: x\r\n\r\n"))
        channel.embeddedEventLoop.run()
        let text = try Self.output(channel)
        #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(text)")
        #expect(text.contains("connection: close\r\n"))
        #expect(text.components(separatedBy: "HTTP/1.1").count == 2, "the request behind it is not answered")
        #expect(!channel.isActive)
    }

    @Test("A head begun and not finished: 408 after the header timeout; a connection sending nothing closes silently")
    func timeouts() throws {
        let (partial, _, _) = try Self.connection("bare")
        partial.embeddedEventLoop.advanceTime(by: .seconds(30))
        try partial.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHo"))
        partial.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(try Self.output(partial).isEmpty)
        #expect(partial.isActive)
        // The header timeout (60 s) runs from the accept for the first request.
        partial.embeddedEventLoop.advanceTime(by: .seconds(1))
        let text = try Self.output(partial)
        #expect(text.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), "\(text)")
        #expect(!partial.isActive)

        let (silent, _, _) = try Self.connection("bare")
        silent.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(try Self.output(silent).isEmpty)
        #expect(!silent.isActive)

        // After an answered request the keep-alive timeout (75 s) runs instead.
        let (kept, _, _) = try Self.connection("bare")
        try kept.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        _ = try Self.output(kept)
        kept.embeddedEventLoop.advanceTime(by: .seconds(74))
        #expect(kept.isActive)
        kept.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!kept.isActive)
    }

    @Test("Draining closes an idle connection at once; an own answer to a request whose body is still arriving closes")
    func drainingAndEarlyAnswers() throws {
        let (idle, idleHandler, _) = try Self.connection("bare")
        try idle.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(try Self.output(idle).contains("404"))
        #expect(idle.isActive)
        idleHandler.beginDraining()
        #expect(!idle.isActive)

        let (early, _, _) = try Self.connection("bare")
        try early.writeInbound(ByteBuffer(string: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab"))
        early.embeddedEventLoop.run()
        let text = try Self.output(early)
        #expect(text.hasPrefix("HTTP/1.1 404 Not Found\r\n") && text.contains("connection: close\r\n"), "\(text)")
        #expect(!early.isActive)
    }
}
