import Foundation
import Logging
import NIOCore
import NIOHTTP1
import TrustGateAllowList
import TrustGatePKI

/// One client connection: routes each request, leases an upstream connection (an idle pooled one, or a new one
/// whose TLS handshake the allow-list judges), forwards the request with the X-Forwarded-* headers, streams the
/// response back, and returns the upstream connection to the pool after a complete keep-alive exchange.
///
/// Failures: a backend the allow-list rejects gets the client a 502 naming the reason category; no TCP
/// connection 502 `unreachable` (504 `timeout` when the connect timed out); no response within the request
/// timeout 504. In a pool of several members a failed connection fails over to the next member; when none is
/// allowed and reachable the client gets 503 with the latest member's category.
///
/// The handler also does what NIO's `HTTPServerPipelineHandler` and `HTTPServerProtocolErrorHandler` would: requests
/// a client pipelines behind the one in progress wait their turn (reading stops only when more than 64 KiB of them
/// wait, not after every request, which would cost two `epoll_ctl` calls per request), and a request the parser
/// refuses is answered 400 and the connection closed.
final class ProxyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct Environment: Sendable {
        var gateway: String
        var listener: GatewayConfiguration.Listener
        var boundPort: Int
        var routes: RouteTable
        var connector: UpstreamConnector
        var connections: ClientConnections
        var logger: Logger
    }

    private enum State {
        case idle
        case connecting(buffered: [HTTPClientRequestPart], bytes: Int)
        case forwarding(Channel)
        /// The rest of the request is dropped: an answer was already sent.
        case discarding
    }

    /// The request in progress and where it goes.
    private struct Exchange {
        var id: Int
        var head: HTTPRequestHead
        var router: Router
        var route: Router.Route
        var member: GatewayConfiguration.Member
        var tried: Set<String> = []
        /// The upstream connection came from the pool: if the backend closed it before answering and nothing
        /// of the body was sent, the request goes again, once, on a new connection (`avoidPool`).
        var fromPool = false
        var avoidPool = false
        var bodySent = false
        var target: String { "\(member.host):\(route.settings.port(for: member))" }
    }

    private let environment: Environment
    private var state = State.idle
    private var exchange: Exchange?
    private var upstream: UpstreamLink?
    private var context: ChannelHandlerContext?
    /// The client's address and the listener's port as the X-Forwarded-* headers carry them (made once).
    private var clientAddress = "unknown"
    private var boundPort = ""
    /// Writes are flushed once per read batch (`channelReadComplete`), not once per HTTP part: one TLS write
    /// and one system call per direction per request.
    private var upstreamNeedsFlush = false
    private var clientNeedsFlush = false
    private var reading = false
    private var clientReadPaused = false
    private var requestVersion = HTTPVersion.http1_1
    private var keepAlive = true
    private var requestEnded = true
    private var responseStarted = false
    private var upstreamKeepAlive = true
    private var draining = false
    /// The request timeout: one timer per connection, re-armed lazily (keep-alive requests that are answered
    /// in time never touch it), firing when `responseDeadline` has passed.
    private var responseDeadline: NIODeadline?
    private var timer: Scheduled<Void>?
    private var timerFiresAt = NIODeadline.distantFuture
    private var exchangeCount = 0
    /// From a request's head until its response has been written in full.
    private var responsePending = false
    /// Parts of requests the client pipelined behind the one in progress (RFC 9112 §9.3), in order.
    private var pipelined = CircularBuffer<HTTPServerRequestPart>()
    private var pipelinedBytes = 0
    private static let pipelineLimit = 65_536

    init(environment: Environment) {
        self.environment = environment
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        clientAddress = context.remoteAddress?.ipAddress ?? "unknown"
        boundPort = String(environment.boundPort)
        environment.connections.add(context.channel, handler: NIOLoopBound(self, eventLoop: context.eventLoop))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        closeUpstream()
        context.fireChannelInactive()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        flushUpstream()
        context.fireChannelReadComplete()
    }

    private func flushUpstream() {
        if upstreamNeedsFlush, let upstream {
            upstreamNeedsFlush = false
            upstream.channel.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        let part = unwrapInboundIn(data)
        if (responsePending && requestEnded) || !pipelined.isEmpty {
            pipelined.append(part)
            pipelinedBytes += Self.size(of: part)
            if pipelinedBytes > Self.pipelineLimit { pauseClient() }
            return
        }
        handle(part, context: context)
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            begin(head, context: context)
        case .body(let buffer):
            forward(.body(.byteBuffer(buffer)))
        case .end(let trailers):
            requestEnded = true
            if case .discarding = state {
                state = .idle
                if draining { context.close(promise: nil) }
            } else {
                forward(.end(trailers))
            }
        }
    }

    /// The response in progress has been written in full: the next pipelined request, if any, goes.
    private func responseComplete(context: ChannelHandlerContext) {
        responsePending = false
        while !(responsePending && requestEnded), let part = pipelined.popFirst() {
            pipelinedBytes -= Self.size(of: part)
            handle(part, context: context)
        }
        if pipelinedBytes <= Self.pipelineLimit { resumeClient() }
        if !reading { flushUpstream() }
    }

    private static func size(of part: HTTPServerRequestPart) -> Int {
        switch part {
        case .head(let head): 256 + head.uri.utf8.count + head.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        case .body(let buffer): buffer.readableBytes
        case .end: 16
        }
    }

    /// What `HTTPServerProtocolErrorHandler` does: a request the parser refuses gets 400 unless a response is
    /// under way, and the connection is closed.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if !responseStarted, !responsePending {
            pipelined.removeAll()
            keepAlive = false
            requestEnded = false
            state = .discarding
            respondError(.badRequest, category: "bad-request", log: nil)
        } else {
            context.close(promise: nil)
        }
    }

    /// The gateway is stopping: close now when idle, else after the response in flight.
    func beginDraining() {
        draining = true
        keepAlive = false
        if case .idle = state, requestEnded, !responseStarted { context?.close(promise: nil) }
    }

    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        exchangeCount += 1
        responsePending = true
        requestVersion = head.version
        keepAlive = head.isKeepAlive && !draining
        requestEnded = false
        responseStarted = false
        closeUpstream()
        let router = environment.routes.current
        guard let route = router.route(listener: environment.listener.name, path: head.uri) else {
            exchange = nil
            state = .discarding
            respondError(.notFound, category: "no-route", log: "no rule routes \(head.uri)")
            return
        }
        // Expect: 100-continue is answered here, as nginx does: the gateway is ready for the body; the backend
        // gets the request without the expectation.
        if head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil
            )
        }
        switch router.pick(route.pool) {
        case .noneAvailable(let category):
            exchange = nil
            state = .discarding
            respondError(.serviceUnavailable, category: category,
                         log: "no member of pool \(route.pool.name) is allowed and reachable")
        case .member(let member):
            let exchange = Exchange(id: exchangeCount, head: head, router: router, route: route, member: member)
            self.exchange = exchange
            scheduleTimeout(exchange, context: context)
            send(exchange, buffered: [], bytes: 0, context: context)
        }
    }

    /// Sends the request head to the exchange's member: on an idle pooled connection when there is one, else on
    /// a new connection (the parts that arrive meanwhile are buffered).
    private func send(_ exchange: Exchange, buffered: [HTTPClientRequestPart], bytes: Int, context: ChannelHandlerContext) {
        let settings = exchange.route.settings
        let hostName = settings.hostName(for: exchange.member)
        let key = UpstreamPool.Key(
            eventLoop: ObjectIdentifier(context.eventLoop), target: exchange.target, hostName: hostName,
            scheme: settings.scheme, trust: settings.trust
        )
        let head = HTTPClientRequestPart.head(upstreamHead(exchange, hostName: hostName, context: context))
        let connector = environment.connector
        if !exchange.avoidPool, let link = connector.pool.take(key, allowListVersion: connector.allowListVersion) {
            attach(link)
            self.exchange?.fromPool = true
            state = .forwarding(link.channel)
            link.channel.write(head, promise: nil)
            for part in buffered {
                if case .body = part { self.exchange?.bodySent = true }
                link.channel.write(part, promise: nil)
            }
            upstreamNeedsFlush = true
            if !reading { flushUpstream() }
            resumeClient()
            return
        }
        state = .connecting(buffered: [head] + buffered, bytes: bytes)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let pool = environment.connector.pool
        let handler = NIOLoopBound(UpstreamResponseHandler(), eventLoop: eventLoop)
        handler.value.owner = self
        environment.connector.connect(member: exchange.member, settings: settings, eventLoop: eventLoop) { channel in
            channel.closeFuture.whenComplete { _ in pool.forget(channel, key: key) }
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(handler.value)
            }
        }.hop(to: eventLoop).whenComplete { result in
            bound.value.connected(
                result.map {
                    UpstreamLink(channel: $0.channel, handler: handler.value, key: key, allowListVersion: $0.verdict.version)
                },
                exchangeID: exchange.id
            )
        }
    }

    private func attach(_ link: UpstreamLink) {
        upstream = link
        upstreamKeepAlive = true
        link.handler.owner = self
        if link.readPaused {
            link.readPaused = false
            setAutoRead(link.channel, true)
        }
    }

    private func connected(_ result: Result<UpstreamLink, Error>, exchangeID: Int) {
        guard let exchange, exchange.id == exchangeID, case .connecting(let buffered, let bytes) = state,
            let context
        else {
            if case .success(let link) = result { link.channel.close(promise: nil) }
            return
        }
        switch result {
        case .success(let link):
            attach(link)
            state = .forwarding(link.channel)
            for part in buffered {
                if case .body = part { self.exchange?.bodySent = true }
                link.channel.write(part, promise: nil)
            }
            link.channel.flush()
            resumeClient()
        case .failure(let error):
            let (status, category, detail) = describe(error, exchange: exchange)
            let pool = exchange.route.pool
            exchange.router.markDown(pool, exchange.member, category: category)
            if pool.members.count > 1 {
                var next = exchange
                next.tried.insert(exchange.member.description)
                if case .member(let member) = exchange.router.pick(pool, excluding: next.tried) {
                    environment.logger.notice("failing over to the next member", metadata: [
                        "gateway": "\(environment.gateway)", "pool": "\(pool.name)", "member": "\(exchange.target)",
                        "category": "\(category)", "next": "\(member)",
                    ])
                    next.member = member
                    self.exchange = next
                    send(next, buffered: Array(buffered.dropFirst()), bytes: bytes, context: context)
                    return
                }
                finish(with: .serviceUnavailable, category: category,
                       log: "\(detail); no other member of pool \(pool.name) is allowed and reachable")
            } else {
                finish(with: status, category: category, log: detail)
            }
        }
    }

    /// The status, reason category and log detail for a failed upstream connection.
    private func describe(_ error: Error, exchange: Exchange) -> (HTTPResponseStatus, String, String?) {
        switch error {
        case UpstreamConnector.Failure.rejected(let verdict):
            logRejection(verdict, exchange: exchange)
            return (.badGateway, verdict.category.rawValue, nil)
        case UpstreamConnector.Failure.timeout(let detail):
            return (.gatewayTimeout, ReasonCategory.timeout.rawValue, detail)
        case UpstreamConnector.Failure.unreachable(let detail):
            return (.badGateway, ReasonCategory.unreachable.rawValue, detail)
        default:
            return (.badGateway, ReasonCategory.handshakeFailed.rawValue, "\(error)")
        }
    }

    private func finish(with status: HTTPResponseStatus, category: String, log: String?) {
        responseDeadline = nil
        state = requestEnded ? .idle : .discarding
        respondError(status, category: category, log: log)
    }

    private func forward(_ part: HTTPClientRequestPart) {
        switch state {
        case .connecting(var buffered, var bytes):
            buffered.append(part)
            if case .body(.byteBuffer(let buffer)) = part { bytes += buffer.readableBytes }
            state = .connecting(buffered: buffered, bytes: bytes)
            // Hold the client while the backend is not there yet: at most ~64 KiB waits in memory.
            if bytes > 65_536 { pauseClient() }
        case .forwarding(let channel):
            if case .body = part { exchange?.bodySent = true }
            channel.write(part, promise: nil)
            upstreamNeedsFlush = true
            if case .end = part { flushUpstream() }
            // Backpressure: a slow backend stops us reading the client until its buffer drains.
            if !channel.isWritable { pauseClient() }
        case .idle, .discarding:
            break
        }
    }

    // MARK: Responses from the upstream (same event loop)

    func upstreamResponse(_ part: HTTPClientResponsePart) {
        guard let context else { return }
        switch part {
        case .head(let head):
            responseDeadline = nil
            responseStarted = true
            upstreamKeepAlive = head.isKeepAlive
            var headers = head.headers
            Self.removeHopByHop(&headers)
            if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
            let response = HTTPResponseHead(version: requestVersion, status: head.status, headers: headers)
            context.write(wrapOutboundOut(.head(response)), promise: nil)
            clientNeedsFlush = true
        case .body(let buffer):
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            clientNeedsFlush = true
            // Backpressure: a slow client stops us reading the backend until its buffer drains.
            if !context.channel.isWritable { pauseUpstream() }
        case .end(let trailers):
            clientNeedsFlush = false
            responseStarted = false
            if requestEnded {
                state = .idle
                releaseUpstream()
            } else {
                // The backend answered before the request ended: its connection cannot be reused, and the
                // rest of the request is dropped with the client connection.
                state = .discarding
                keepAlive = false
                closeUpstream()
            }
            exchange = nil
            resumeClient()
            if keepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
                responseComplete(context: context)
            } else {
                context.writeAndFlush(wrapOutboundOut(.end(trailers))).whenComplete { [channel = context.channel] _ in
                    channel.close(promise: nil)
                }
            }
        }
    }

    /// The end of a batch of reads from the backend: what was written to the client goes out in one flush.
    func upstreamReadComplete() {
        if clientNeedsFlush, let context {
            clientNeedsFlush = false
            context.flush()
        }
    }

    /// The client can take more: read the backend again.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let upstream, upstream.readPaused {
            upstream.readPaused = false
            setAutoRead(upstream.channel, true)
        }
        context.fireChannelWritabilityChanged()
    }

    /// The backend can take more: read the client again.
    func upstreamWritabilityChanged(_ channel: Channel) {
        if channel.isWritable, case .forwarding = state { resumeClient() }
    }

    private func pauseClient() {
        guard !clientReadPaused else { return }
        clientReadPaused = true
        setAutoRead(context?.channel, false)
    }

    private func resumeClient() {
        guard clientReadPaused, pipelinedBytes <= Self.pipelineLimit else { return }
        clientReadPaused = false
        setAutoRead(context?.channel, true)
    }

    private func pauseUpstream() {
        guard let upstream, !upstream.readPaused else { return }
        upstream.readPaused = true
        setAutoRead(upstream.channel, false)
    }

    func upstreamClosed(_ channel: Channel) {
        guard upstream?.channel === channel else { return }
        upstream = nil
        guard case .forwarding = state, let exchange, let context else { return }
        if responseStarted {
            responseDeadline = nil
            context.close(promise: nil)  // the response is cut short: the client must not take it as whole
        } else if exchange.fromPool, !exchange.bodySent {
            // A pooled connection the backend closed while idle (its keep-alive timeout): nothing was
            // processed, so the request goes again on a new connection, as nginx does.
            var again = exchange
            again.fromPool = false
            again.avoidPool = true
            self.exchange = again
            send(again, buffered: [], bytes: 0, context: context)
            if requestEnded, case .connecting(let buffered, let bytes) = state {
                state = .connecting(buffered: buffered + [.end(nil)], bytes: bytes)
            }
        } else {
            finish(with: .badGateway, category: ReasonCategory.unreachable.rawValue,
                   log: "\(exchange.target) closed the connection before answering")
        }
    }

    // MARK: Helpers

    /// Back to the pool after a complete exchange, if the backend keeps the connection alive.
    private func releaseUpstream() {
        guard let upstream else { return }
        self.upstream = nil
        upstreamNeedsFlush = false
        upstream.handler.owner = nil
        if upstreamKeepAlive, !draining {
            if upstream.readPaused {
                upstream.readPaused = false
                setAutoRead(upstream.channel, true)
            }
            environment.connector.pool.put(upstream)
        } else {
            upstream.channel.close(promise: nil)
        }
    }

    private func closeUpstream() {
        guard let upstream else { return }
        self.upstream = nil
        upstreamNeedsFlush = false
        upstream.handler.owner = nil
        upstream.channel.close(promise: nil)
    }

    private func setAutoRead(_ channel: Channel?, _ on: Bool) {
        channel?.setOption(ChannelOptions.autoRead, value: on).whenFailure { _ in }
    }

    private func scheduleTimeout(_ exchange: Exchange, context: ChannelHandlerContext) {
        let deadline = NIODeadline.now() + .milliseconds(Int64(exchange.route.settings.requestTimeout * 1000))
        responseDeadline = deadline
        if timer == nil || timerFiresAt > deadline { armTimer(at: deadline, eventLoop: context.eventLoop) }
    }

    private func armTimer(at deadline: NIODeadline, eventLoop: EventLoop) {
        timer?.cancel()
        timerFiresAt = deadline
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        timer = eventLoop.scheduleTask(deadline: deadline) { bound.value.timerFired(eventLoop: eventLoop) }
    }

    private func timerFired(eventLoop: EventLoop) {
        timer = nil
        guard let deadline = responseDeadline, let exchange, !responseStarted else { return }
        if deadline > .now() {
            armTimer(at: deadline, eventLoop: eventLoop)
            return
        }
        responseDeadline = nil
        closeUpstream()
        finish(with: .gatewayTimeout, category: ReasonCategory.timeout.rawValue,
               log: "no response from \(exchange.target) (pool \(exchange.route.pool.name)) within \(Int(exchange.route.settings.requestTimeout)) s")
    }

    private func upstreamHead(_ exchange: Exchange, hostName: String, context: ChannelHandlerContext) -> HTTPRequestHead {
        let head = exchange.head
        var headers = head.headers
        Self.removeHopByHop(&headers, alsoExpect: true)
        let originalHost = head.headers.first(name: "host") ?? ""
        let client = clientAddress
        // Most requests carry none of these: then they are only added (no scan per name).
        let carried = headers.contains { $0.name.utf8.count >= 15 && Self.isForwardingHeader($0.name) }
        let forwardedFor = carried ? headers[canonicalForm: "x-forwarded-for"].joined(separator: ", ") : ""
        let forwarding = [
            ("x-forwarded-for", forwardedFor.isEmpty ? client : "\(forwardedFor), \(client)"),
            ("x-forwarded-proto", environment.listener.scheme.rawValue), ("x-forwarded-port", boundPort),
            ("x-forwarded-host", originalHost), ("x-original-host", originalHost),
        ]
        for (name, value) in forwarding {
            if carried { headers.replaceOrAdd(name: name, value: value) } else { headers.add(name: name, value: value) }
        }
        let settings = exchange.route.settings
        let port = settings.port(for: exchange.member)
        let defaultPort = settings.scheme == .https ? 443 : 80
        let shownHost = hostName.utf8.contains(UInt8(ascii: ":")) ? "[\(hostName)]" : hostName
        headers.replaceOrAdd(name: "host", value: port == defaultPort ? shownHost : "\(shownHost):\(port)")
        return HTTPRequestHead(version: .http1_1, method: head.method, uri: head.uri, headers: headers)
    }

    /// RFC 9110 §7.6.1: connection-specific headers, and any the Connection header names, are not forwarded
    /// (nor Expect, from a request: the gateway answers it). Transfer-Encoding stays: it frames the body the
    /// encoder on the other side writes. One pass over the names when there is nothing to remove (most
    /// requests), two when there is (most responses carry `Connection: keep-alive`).
    static func removeHopByHop(_ headers: inout HTTPHeaders, alsoExpect: Bool = false) {
        func removable(_ name: String) -> Bool {
            isHopByHop(name) || (alsoExpect && name.utf8.count == 6 && name.lowercased() == "expect")
        }
        guard headers.contains(where: { removable($0.name) }) else { return }
        // Names the Connection header lists beyond the fixed set (rare: usually it says keep-alive or close).
        var named: [String] = []
        for value in headers[canonicalForm: "connection"] {
            let name = value.lowercased()
            if name != "transfer-encoding", !isHopByHop(name), name != "close" { named.append(name) }
        }
        var kept = HTTPHeaders()
        kept.reserveCapacity(headers.count)
        for (name, value) in headers where !removable(name) && (named.isEmpty || !named.contains(name.lowercased())) {
            kept.add(name: name, value: value)
        }
        headers = kept
    }

    /// X-Forwarded-* or X-Original-Host, the headers the gateway sets.
    private static func isForwardingHeader(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasPrefix("x-forwarded-") || lower == "x-original-host"
    }

    private static let hopByHop: [[UInt8]] = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "proxy-authenticate",
        "proxy-authorization",
    ].map { Array($0.utf8) }

    /// Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade, Proxy-Authenticate, Proxy-Authorization
    /// (compared as ASCII without case, without allocating).
    private static func isHopByHop(_ name: String) -> Bool {
        let utf8 = name.utf8
        for candidate in hopByHop where candidate.count == utf8.count {
            if zip(utf8, candidate).allSatisfy({ ($0 | 0x20) == $1 }) { return true }
        }
        return false
    }

    private func respondError(_ status: HTTPResponseStatus, category: String, log: String?) {
        guard let context else { return }
        if let log {
            environment.logger.warning("upstream failed", metadata: [
                "gateway": "\(environment.gateway)", "status": "\(status.code)", "category": "\(category)",
                "detail": "\(log)",
            ])
        }
        exchange = nil
        let body = "\(status.code) \(status.reasonPhrase): \(category)\n"
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: String(body.utf8.count))
        headers.add(name: "x-trustgate-reason", value: category)
        let closeAfter = !keepAlive || !requestEnded
        if closeAfter { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: requestVersion, status: status, headers: headers))),
                      promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        if closeAfter {
            responsePending = false
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
                channel.close(promise: nil)
            }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            responseComplete(context: context)
        }
    }

    private func logRejection(_ verdict: TrustVerdict, exchange: Exchange) {
        let leaf = verdict.chain.first
        environment.logger.error("backend rejected", metadata: [
            "gateway": "\(environment.gateway)", "pool": "\(exchange.route.pool.name)", "member": "\(exchange.target)",
            "category": "\(verdict.category.rawValue)", "expected": "\(exchange.route.settings.hostName(for: exchange.member))",
            "leaf_sha256": "\(leaf?.sha256.hexString ?? "-")",
            "leaf_sans": "\(leaf?.subjectAlternativeNames.map(SubjectAlternativeName.display).joined(separator: ",") ?? "-")",
            "leaf_not_after": "\(leaf.map { RFC3339.format($0.notAfter) } ?? "-")",
            "detail": "\(verdict.detail)",
        ])
    }
}

/// Hands an upstream connection's response parts to the client connection that holds it (same event loop).
/// While the connection idles in the pool it has no owner: anything the backend sends then is a protocol error
/// and closes the connection.
final class UpstreamResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    var owner: ProxyHandler?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let owner {
            owner.upstreamResponse(unwrapInboundIn(data))
        } else {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let owner = self.owner
        self.owner = nil
        owner?.upstreamClosed(context.channel)
        context.fireChannelInactive()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        owner?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        owner?.upstreamWritabilityChanged(context.channel)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
