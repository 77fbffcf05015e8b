import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The admin listener, plain HTTP on 127.0.0.1 unless configured otherwise:
///
/// - `GET /healthz`: `200 ok` while the gateway runs, and a line saying whether the allow-list in force is the
///   store's current one (`allow-list: current, version 7`) or the last one read before the store became
///   unreadable (`allow-list: stale since …: why`): the gateway goes on enforcing it (fail-static);
/// - `GET /metrics`: the Prometheus text exposition of ``GatewayMetrics``;
/// - `GET /backend-health`: `gateway backend-health --json`, probed now through the running gateway's
///   allow-list.
///
/// With a token file, every request needs `Authorization: Bearer TOKEN` (401 otherwise).
enum AdminServer {
    struct Endpoints: Sendable {
        var metrics: GatewayMetrics
        /// The allow-list's line of `/healthz`.
        var health: @Sendable () -> String
        var backendHealth: @Sendable () async -> [UInt8]
        var token: String?
    }

    static func bind(_ admin: GatewayConfiguration.Admin, group: EventLoopGroup, endpoints: Endpoints) async throws -> Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(endpoints: endpoints))
                }
            }
            .bind(host: admin.address, port: admin.port).get()
    }

    /// The token from the file's first line, or nil for none (an empty file is refused by the caller).
    static func readToken(_ path: String) throws -> String {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let token = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        guard !token.isEmpty else {
            throw ConfigurationProblems([ConfigurationProblem(path: "admin.token-file", line: nil, column: nil,
                                                              message: "\(path) holds no token")])
        }
        return token
    }
}

final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let endpoints: AdminServer.Endpoints
    private var head: HTTPRequestHead?

    init(endpoints: AdminServer.Endpoints) {
        self.endpoints = endpoints
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            answer(head, context: context)
        }
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        if let token = endpoints.token {
            let given = head.headers["authorization"].first ?? ""
            guard Self.constantTimeEquals(given, "Bearer " + token) else {
                respond(.unauthorized, "bearer token required\n", type: "text/plain", head: head, context: context,
                        extra: [("www-authenticate", "Bearer")])
                return
            }
        }
        guard head.method == .GET || head.method == .HEAD else {
            respond(.methodNotAllowed, "GET only\n", type: "text/plain", head: head, context: context, extra: [("allow", "GET, HEAD")])
            return
        }
        switch head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "" {
        case "/healthz":
            respond(.ok, "ok\n\(endpoints.health())\n", type: "text/plain", head: head, context: context)
        case "/metrics":
            respond(.ok, endpoints.metrics.exposition(), type: "text/plain; version=0.0.4", head: head, context: context)
        case "/backend-health":
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let probe = endpoints.backendHealth
            let promise = context.eventLoop.makePromise(of: [UInt8].self)
            promise.completeWithTask { await probe() }
            promise.futureResult.whenSuccess { body in
                let (handler, context) = bound.value
                handler.respond(.ok, body, type: "application/json", head: head, context: context)
            }
        default:
            respond(.notFound, "not found: /healthz, /metrics, /backend-health\n", type: "text/plain", head: head,
                    context: context)
        }
    }

    private func respond(
        _ status: HTTPResponseStatus, _ body: String, type: String, head: HTTPRequestHead, context: ChannelHandlerContext,
        extra: [(String, String)] = []
    ) {
        respond(status, Array(body.utf8), type: type, head: head, context: context, extra: extra)
    }

    private func respond(
        _ status: HTTPResponseStatus, _ body: [UInt8], type: String, head: HTTPRequestHead, context: ChannelHandlerContext,
        extra: [(String, String)] = []
    ) {
        var headers = HTTPHeaders([("content-type", type), ("content-length", String(body.count)), ("cache-control", "no-store")])
        headers.add(contentsOf: extra)
        if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                      promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let keepAlive = head.isKeepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    /// Compares without stopping at the first difference.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
        }
        return difference == 0
    }
}
