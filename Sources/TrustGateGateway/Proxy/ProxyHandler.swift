import Foundation
import Logging
import NIOCore
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
/// The data path is bytes (``HTTP1``): a head is parsed once and rewritten by copying the fields that stay, bodies
/// are relayed as they arrive with their framing, and only where each message ends is tracked. Requests a client
/// pipelines behind the one in progress wait their turn (reading stops only when more than 64 KiB of them wait),
/// and a request the parser refuses is answered 400 (431, 501, 505 as the case is) and the connection closed.
final class ProxyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A request as the parser cuts it from the byte stream.
    enum RequestPart {
        case head(HTTP1.Request)
        /// Body bytes as the backend gets them: as they arrived for a Content-Length body, in canonical chunked
        /// framing for a chunked one.
        case body(ByteBuffer)
        case end
    }

    /// A response as ``UpstreamResponseHandler`` cuts it from the backend's byte stream.
    enum ResponsePart {
        case head(HTTP1.Head, HTTP1.Framing)
        case body(ByteBuffer)
        case end
    }

    struct Environment: Sendable {
        var gateway: String
        var listener: GatewayConfiguration.Listener
        var boundPort: Int
        var routes: RouteTable
        var connector: UpstreamConnector
        var connections: ClientConnections
        var logger: Logger
        var metrics: GatewayMetrics
        var accessLog: AccessLog?
        var boundPorts: BoundPorts
    }

    private enum State {
        case idle
        /// The request head (first) and body bytes wait for the connection.
        case connecting(buffered: [ByteBuffer], bytes: Int)
        case forwarding(Channel)
        /// The rest of the request is dropped: an answer was already sent.
        case discarding
    }

    /// The request in progress and where it goes.
    private struct Exchange {
        var id: Int
        var request: HTTP1.Request
        var head: HTTP1.Head { request.head }
        var router: Router
        var route: Router.Route
        var member: GatewayConfiguration.Member
        var tried: Set<String> = []
        /// The upstream connection came from the pool: if the backend closed it before answering and nothing
        /// of the body was sent, the request goes again, once, on a new connection (`avoidPool`).
        var fromPool = false
        var avoidPool = false
        /// The affinity cookie's value the request carried.
        var presentedAffinity: String?
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
    private var requestMinorVersion = 1
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
    /// Since when the connection waits for a request (idle, or a head begun), and since when a head is begun.
    private var waitingSince: NIODeadline?
    private var headBegunAt: NIODeadline?
    /// The last read from the backend while its response streams (the read timeout runs from it).
    private var lastUpstreamRead: NIODeadline?
    /// Since when the client has not taken what was written to it (the send timeout runs from it).
    private var unwritableSince: NIODeadline?
    /// From a request's head until its response has been written in full.
    private var responsePending = false
    /// Parts of requests the client pipelined behind the one in progress (RFC 9112 §9.3), in order.
    private var pipelined = CircularBuffer<RequestPart>()
    private var pipelinedBytes = 0
    private static let pipelineLimit = 65_536
    /// Where the parser is in the client's byte stream: a head, or the body of the request it began.
    private var heads = HeadReader(request: true)
    private var body: BodyReader?
    /// A request the parser refused: nothing more is read.
    private var refused = false
    /// Bytes of a request head have arrived since the last complete one (a timed-out head then gets 408).
    private var receivedPartialHead = false
    /// Whether the request in progress has a body (else its end follows its head at once).
    private var requestHasBody = false
    /// The request in progress, for the metrics and the access log.
    private var currentRequest: HTTP1.Request?
    private var currentPool = "-"
    private var requestStart = NIODeadline.uptimeNanoseconds(0)
    private var upstreamSentAt: NIODeadline?
    private var upstreamAnsweredAt: NIODeadline?
    private var responseStatus = 0
    private var responseBytes = 0
    /// A response head waiting for the first body bytes, to go out with them.
    private var heldHead: ByteBuffer?
    /// While the client connection closes after the response: the last write, which the close waits for.
    private var lastWrite: EventLoopFuture<Void>?

    init(environment: Environment) {
        self.environment = environment
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        clientAddress = context.remoteAddress?.ipAddress ?? "unknown"
        boundPort = String(environment.boundPort)
        environment.connections.add(context.channel, handler: NIOLoopBound(self, eventLoop: context.eventLoop))
        startWaiting(context: context)
    }

    /// Waiting for the next request: the keep-alive and header timeouts run (one timer, re-armed lazily). For the
    /// connection's first request the header timeout runs from the accept, as nginx's `client_header_timeout`
    /// does: a client that connects and sends nothing (or never finishes its TLS handshake) is closed then.
    private func startWaiting(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        waitingSince = now
        headBegunAt = exchangeCount == 0 ? now : nil
        let router = environment.routes.current
        let deadline = now + min(router.keepAliveTimeout, router.headerTimeout)
        if timer == nil || timerFiresAt > deadline { armTimer(at: deadline, eventLoop: context.eventLoop) }
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
        var buffer = unwrapInboundIn(data)
        var slices: [ByteBuffer] = []
        do throws(HTTP1.ParseError) {
            while buffer.readableBytes > 0, !refused {
                if body == nil {
                    guard let bytes = try heads.take(&buffer) else {
                        if heads.isPartial, headBegunAt == nil { headBegunAt = .now() }
                        if heads.isPartial { receivedPartialHead = true }
                        break
                    }
                    let request = try HTTP1.Request(
                        HTTP1.parse(bytes, request: true),
                        allowEncodedSlashes: environment.routes.current.configuration.allowEncodedSlashes
                    )
                    deliver(.head(request), context: context)
                    if request.framing.hasBody {
                        body = BodyReader(request.framing, output: .reframe)
                    } else {
                        deliver(.end, context: context)
                    }
                } else if var reader = body {
                    body = nil
                    let done = try reader.read(&buffer, into: &slices, allocator: context.channel.allocator)
                    if !done { body = reader }
                    for slice in slices { deliver(.body(slice), context: context) }
                    slices.removeAll(keepingCapacity: true)
                    if done { deliver(.end, context: context) }
                }
            }
        } catch {
            refuse(error, context: context)
        }
    }

    /// The client sent something that is not HTTP/1.1: answered with the parser's status unless a response is
    /// under way, and closed, as nginx does.
    private func refuse(_ error: HTTP1.ParseError, context: ChannelHandlerContext) {
        refused = true
        currentRequest = nil
        currentPool = "-"
        requestStart = .now()
        pipelined.removeAll()
        pipelinedBytes = 0
        environment.logger.notice("refused a request", metadata: [
            "gateway": "\(environment.gateway)", "client": "\(clientAddress)", "detail": "\(error)",
        ])
        if !responseStarted, !responsePending || isDiscarding || requestBeingForwarded {
            // A body refused part-way: what the backend got of the request is cut off with its connection, which
            // is never reused; the client is answered and closed.
            closeUpstream()
            exchange = nil
            responseDeadline = nil
            keepAlive = false
            requestEnded = false
            state = .discarding
            let status = error.status
            respondError(code: status.code, reason: status.reason, category: .badRequest, log: nil)
        } else {
            closeUpstream()
            context.close(promise: nil)
        }
    }

    private func deliver(_ part: RequestPart, context: ChannelHandlerContext) {
        if (responsePending && requestEnded) || !pipelined.isEmpty {
            pipelined.append(part)
            pipelinedBytes += Self.size(of: part)
            if pipelinedBytes > Self.pipelineLimit { pauseClient() }
            return
        }
        handle(part, context: context)
    }

    private func handle(_ part: RequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let request):
            requestHasBody = request.framing.hasBody
            begin(request, context: context)
        case .body(let buffer):
            forward(buffer)
        case .end:
            requestEnded = true
            switch state {
            case .discarding:
                state = .idle
                if draining { context.close(promise: nil) }
            case .forwarding:
                flushUpstream()
            case .connecting, .idle:
                break
            }
        }
    }

    /// The response in progress has been written in full: the next pipelined request, if any, goes.
    private func responseComplete(context: ChannelHandlerContext) {
        responsePending = false
        startWaiting(context: context)
        while !(responsePending && requestEnded), let part = pipelined.popFirst() {
            pipelinedBytes -= Self.size(of: part)
            handle(part, context: context)
        }
        if pipelinedBytes <= Self.pipelineLimit { resumeClient() }
        if !reading { flushUpstream() }
    }

    private var isDiscarding: Bool {
        if case .discarding = state { true } else { false }
    }

    /// The request in progress is being sent to a backend (its body has not all arrived).
    private var requestBeingForwarded: Bool {
        switch state {
        case .connecting, .forwarding: !requestEnded && pipelined.isEmpty
        case .idle, .discarding: false
        }
    }

    private static func size(of part: RequestPart) -> Int {
        switch part {
        case .head(let request): 256 + request.head.bytes.count + 32 * request.head.fields.count
        case .body(let buffer): buffer.readableBytes
        case .end: 16
        }
    }

    /// The gateway is stopping: close now when idle, else after the response in flight.
    func beginDraining() {
        draining = true
        keepAlive = false
        if case .idle = state, requestEnded, !responseStarted { context?.close(promise: nil) }
    }

    private func begin(_ request: HTTP1.Request, context: ChannelHandlerContext) {
        let head = request.head
        exchangeCount += 1
        waitingSince = nil
        headBegunAt = nil
        receivedPartialHead = false
        currentRequest = request
        currentPool = "-"
        requestStart = .now()
        responsePending = true
        requestMinorVersion = head.minorVersion
        keepAlive = head.isKeepAlive && !draining
        requestEnded = false
        responseStarted = false
        lastWrite = nil
        heldHead = nil
        closeUpstream()
        let router = environment.routes.current
        // Routed by the normalized path, which is also the path the backend gets.
        let path = request.target.path
        let site = router.site(on: environment.listener, host: request.host)
        if let redirect = router.redirect(listener: site.name) {
            exchange = nil
            state = .discarding
            respondRedirect(redirect, request: request, router: router)
            return
        }
        guard let route = router.route(listener: site.name, path: path) else {
            exchange = nil
            state = .discarding
            respondError(code: 404, reason: "Not Found", category: .noRoute, log: "no rule routes \(path)")
            return
        }
        currentPool = route.pool.name
        // Expect: 100-continue is answered here, as nginx does: the gateway is ready for the body; the backend
        // gets the request without the expectation.
        if request.expectsContinue {
            var interim = context.channel.allocator.buffer(capacity: 25)
            interim.writeStaticString("HTTP/1.1 100 Continue\r\n\r\n")
            context.writeAndFlush(wrapOutboundOut(interim), promise: nil)
        }
        // Cookie-based affinity: the member the cookie names, while it is available; else the usual pick (and
        // the response carries a new cookie).
        let presentedAffinity = route.settings.affinity.flatMap { Self.cookie(named: $0.cookieName, in: head) }
        let sticky = presentedAffinity.flatMap { router.stickyMember($0, in: route.pool) }
        switch sticky.map(Router.Pick.member) ?? router.pick(route.pool) {
        case .allUnhealthy(let category):
            exchange = nil
            state = .discarding
            respondError(code: 502, reason: "Bad Gateway", category: category,
                         log: "every member of pool \(route.pool.name) is unhealthy (active probes)")
        case .noneAvailable(let category):
            exchange = nil
            state = .discarding
            respondError(code: 503, reason: "Service Unavailable", category: category,
                         log: "no member of pool \(route.pool.name) is allowed and reachable")
        case .member(let member):
            var exchange = Exchange(id: exchangeCount, request: request, router: router, route: route, member: member)
            exchange.presentedAffinity = presentedAffinity
            self.exchange = exchange
            scheduleTimeout(exchange, context: context)
            send(exchange, buffered: [], bytes: 0, context: context)
        }
    }

    /// Sends the request head to the exchange's member: on an idle pooled connection when there is one, else on
    /// a new connection (the parts that arrive meanwhile are buffered).
    private func send(_ exchange: Exchange, buffered: [ByteBuffer], bytes: Int, context: ChannelHandlerContext) {
        let settings = exchange.route.settings
        let hostName = settings.hostName(for: exchange.member)
        let key = UpstreamPool.Key(
            eventLoop: ObjectIdentifier(context.eventLoop), target: exchange.target, hostName: hostName,
            scheme: settings.scheme, trust: settings.trust, clientCertificate: settings.clientCertificate
        )
        let head = upstreamHead(exchange, context: context)
        let toHEAD = exchange.head.isHEAD
        let dechunk = requestMinorVersion == 0
        let connector = environment.connector
        if !exchange.avoidPool, let link = connector.pool.take(key, generation: connector.generation) {
            attach(link)
            link.handler.expectResponse(toHEAD: toHEAD, dechunk: dechunk)
            self.exchange?.fromPool = true
            state = .forwarding(link.channel)
            upstreamSentAt = .now()
            link.channel.write(head, promise: nil)
            for part in buffered {
                self.exchange?.bodySent = true
                link.channel.write(part, promise: nil)
            }
            upstreamNeedsFlush = true
            if !reading { flushUpstream() }
            resumeClient()
            return
        }
        upstreamSentAt = .now()
        state = .connecting(buffered: [head] + buffered, bytes: bytes)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let pool = environment.connector.pool
        let handler = NIOLoopBound(UpstreamResponseHandler(), eventLoop: eventLoop)
        handler.value.owner = self
        handler.value.expectResponse(toHEAD: toHEAD, dechunk: dechunk)
        environment.connector.connect(member: exchange.member, settings: settings, eventLoop: eventLoop) { channel in
            channel.closeFuture.whenComplete { _ in pool.forget(channel, key: key) }
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(handler.value)
            }
        }.hop(to: eventLoop).whenComplete { completed in
            let result = (try? completed.get()) ?? .handshakeFailed("the connection attempt was abandoned")
            bound.value.connected(result, exchangeID: exchange.id) { connection in
                UpstreamLink(channel: connection.channel, handler: handler.value, key: key, admission: connection.admission,
                             leaf: connection.presented.first)
            }
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

    private func connected(
        _ result: UpstreamConnectResult, exchangeID: Int, link makeLink: (UpstreamConnector.Connection) -> UpstreamLink
    ) {
        guard let exchange, exchange.id == exchangeID, case .connecting(let buffered, let bytes) = state,
            let context
        else {
            if case .connected(let connection) = result { connection.channel.close(promise: nil) }
            return
        }
        switch result {
        case .connected(let connection):
            let link = makeLink(connection)
            if let leaf = link.leaf {
                environment.metrics.handshake(pool: exchange.route.pool.name, category: .ok)
                environment.metrics.backendCertificate(pool: exchange.route.pool.name, member: exchange.target, leaf: leaf)
            }
            attach(link)
            state = .forwarding(link.channel)
            for (index, part) in buffered.enumerated() {
                if index > 0 { self.exchange?.bodySent = true }
                link.channel.write(part, promise: nil)
            }
            link.channel.flush()
            resumeClient()
        case .rejected, .unreachable, .timeout, .handshakeFailed:
            let (status, category, detail) = describe(result, exchange: exchange)
            let pool = exchange.route.pool
            environment.metrics.handshake(pool: pool.name, category: category)
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
                finish(code: 503, reason: "Service Unavailable", category: category,
                       log: "\(detail ?? category.rawValue); no other member of pool \(pool.name) is allowed and reachable")
            } else {
                finish(code: status.code, reason: status.reason, category: category, log: detail)
            }
        }
    }

    /// The status, reason category and log detail for a failed upstream connection.
    private typealias Status = (code: Int, reason: String)
    private static let badGateway: Status = (502, "Bad Gateway")
    private static let gatewayTimeout: Status = (504, "Gateway Timeout")

    private func describe(_ result: UpstreamConnectResult, exchange: Exchange) -> (Status, GatewayOutcome, String?) {
        switch result {
        case .rejected(let verdict, _):
            logRejection(verdict, exchange: exchange)
            return (Self.badGateway, .verdict(verdict.category), nil)
        case .timeout(let detail):
            return (Self.gatewayTimeout, .verdict(.timeout), detail)
        case .connected, .unreachable, .handshakeFailed:
            return (Self.badGateway, .verdict(result.category), result.detail)
        }
    }

    private func finish(code: Int, reason: String, category: GatewayOutcome, log: String?) {
        responseDeadline = nil
        state = requestEnded ? .idle : .discarding
        respondError(code: code, reason: reason, category: category, log: log)
    }

    /// Request body bytes, as the client framed them.
    private func forward(_ buffer: ByteBuffer) {
        switch state {
        case .connecting(var buffered, var bytes):
            buffered.append(buffer)
            bytes += buffer.readableBytes
            state = .connecting(buffered: buffered, bytes: bytes)
            // Hold the client while the backend is not there yet: at most ~64 KiB waits in memory.
            if bytes > 65_536 { pauseClient() }
        case .forwarding(let channel):
            exchange?.bodySent = true
            channel.write(buffer, promise: nil)
            upstreamNeedsFlush = true
            // Backpressure: a slow backend stops us reading the client until its buffer drains.
            if !channel.isWritable { pauseClient() }
        case .idle, .discarding:
            break
        }
    }

    // MARK: Responses from the upstream (same event loop)

    func upstreamResponse(_ part: ResponsePart) {
        guard let context else { return }
        switch part {
        case .head(let head, let framing):
            responseDeadline = nil
            responseStarted = true
            startReadTimeout(context: context)
            responseStatus = head.status
            responseBytes = 0
            upstreamAnsweredAt = .now()
            upstreamKeepAlive = head.isKeepAlive && framing != .untilClose
            // An HTTP/1.1 client gets a chunked or close-delimited body in canonical chunks; an HTTP/1.0 client
            // gets the data alone, with no length it could see: its connection closes after it.
            if requestMinorVersion == 0, framing == .chunked || framing == .untilClose { keepAlive = false }
            var buffer = context.channel.allocator.buffer(capacity: head.bytes.count + 64)
            let rewrite = exchange?.route.rewrite
            Self.writeClientHead(
                head, framing: framing, keepAlive: keepAlive, clientMinorVersion: requestMinorVersion,
                extraFields: affinityCookie() + (rewrite?.responseSet.map { "\($0.name): \($0.value)\r\n" }.joined() ?? ""),
                dropping: rewrite.map { rewrite in
                    { Self.rewrites(head, $0, set: rewrite.responseSet, remove: rewrite.responseRemove) }
                },
                into: &buffer
            )
            // Held until the first body bytes, which usually came in the same read: one write, one TLS record.
            heldHead = buffer
        case .body(let buffer):
            lastUpstreamRead = .now()
            responseBytes += buffer.readableBytes
            if var head = heldHead {
                heldHead = nil
                if head.readableBytes + buffer.readableBytes <= 16_384 {
                    head.writeImmutableBuffer(buffer)
                    writeToClient(head, context: context)
                } else {
                    writeToClient(head, context: context)
                    writeToClient(buffer, context: context)
                }
            } else {
                writeToClient(buffer, context: context)
            }
            // Backpressure: a slow client stops us reading the backend until its buffer drains.
            if !context.channel.isWritable { pauseUpstream() }
        case .end:
            writeHeldHead(context: context)
            clientNeedsFlush = false
            responseStarted = false
            lastUpstreamRead = nil
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
            account(status: responseStatus, bodyBytes: responseBytes)
            exchange = nil
            resumeClient()
            context.flush()
            if keepAlive {
                responseComplete(context: context)
            } else {
                let channel = context.channel
                if let lastWrite {
                    lastWrite.whenComplete { _ in channel.close(promise: nil) }
                } else {
                    channel.close(promise: nil)
                }
            }
        }
    }

    /// The response head as the client gets it: HTTP/1.1 with the backend's status; its fields but the hop-by-hop
    /// ones and those its Connection field names; the framing written by the gateway for the body it sends
    /// (``BodyReader``): the parsed Content-Length, or `Transfer-Encoding: chunked` for a chunked or
    /// close-delimited body to an HTTP/1.1 client, nothing for the data alone to an HTTP/1.0 client; a response
    /// without a body (to HEAD, 304) keeps the length it announced; Connection as this client connection goes on.
    static func writeClientHead(
        _ head: HTTP1.Head, framing: HTTP1.Framing, keepAlive: Bool, clientMinorVersion: Int, extraFields: String = "",
        dropping drop: ((HTTP1.Field) -> Bool)? = nil, into buffer: inout ByteBuffer
    ) {
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeBytes(head.bytes[head.first])
        buffer.writeStaticString(" ")
        buffer.writeBytes(head.bytes[head.second])
        buffer.writeStaticString("\r\n")
        head.writeFields(into: &buffer) {
            $0.kind.isHopByHop || $0.kind == .transferEncoding || $0.kind == .contentLength || drop?($0) == true
        }
        switch framing {
        case .length(let length):
            buffer.writeStaticString("Content-Length: ")
            buffer.writeString(String(length))
            buffer.writeStaticString("\r\n")
        case .chunked, .untilClose:
            if clientMinorVersion == 1 { buffer.writeStaticString("Transfer-Encoding: chunked\r\n") }
        case .none:
            // To HEAD, or 304: the length the body would have, as the backend announced it (already validated).
            if head.status != 204, head.status >= 200, let length = try? HTTP1.contentLength(head) {
                buffer.writeStaticString("Content-Length: ")
                buffer.writeString(String(length))
                buffer.writeStaticString("\r\n")
            } else if head.status != 204, head.status >= 200, head.has(.transferEncoding), clientMinorVersion == 1 {
                buffer.writeStaticString("Transfer-Encoding: chunked\r\n")
            }
        }
        buffer.writeString(extraFields)
        if !keepAlive {
            buffer.writeStaticString("Connection: close\r\n")
        } else if clientMinorVersion == 0 {
            buffer.writeStaticString("Connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
    }

    /// Whether a rewrite replaces or removes `field` (only `.other` fields can be rewritten).
    static func rewrites(
        _ head: HTTP1.Head, _ field: HTTP1.Field, set: [GatewayConfiguration.HeaderRewrite.Field], remove: [String]
    ) -> Bool {
        guard field.kind == .other else { return false }
        let name = head.string(field.name).lowercased()
        return remove.contains(name) || set.contains { $0.name == name }
    }

    /// `Set-Cookie` for affinity when the member that answered is not the one the request's cookie named.
    private func affinityCookie() -> String {
        guard let exchange, let affinity = exchange.route.settings.affinity else { return "" }
        guard let value = exchange.router.affinityValue(exchange.route.pool, exchange.member) else { return "" }
        guard value != exchange.presentedAffinity else { return "" }
        return "Set-Cookie: \(affinity.cookieName)=\(value); Path=/; HttpOnly"
            + (environment.listener.scheme == .https ? "; Secure" : "") + (affinity.sameSiteNone ? "; SameSite=None" : "")
            + "\r\n"
    }

    /// The value of cookie `name` in the request's Cookie fields (`a=1; name=value`), if any.
    static func cookie(named name: String, in head: HTTP1.Head) -> String? {
        for field in head.fields where field.name.count == 6 {
            let isCookie = head.bytes.withUnsafeBufferPointer {
                HTTP1.equalsLowercase(UnsafeBufferPointer(rebasing: $0[field.name]), "cookie")
            }
            guard isCookie else { continue }
            for pair in head.string(field.value).split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingASCIIWhitespace() == name { return String(parts[1].trimmingASCIIWhitespace()) }
            }
        }
        return nil
    }

    private func writeHeldHead(context: ChannelHandlerContext) {
        if let head = heldHead {
            heldHead = nil
            writeToClient(head, context: context)
        }
    }

    /// A write to the client; when the connection closes after this response, the close waits for the last one.
    private func writeToClient(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        if keepAlive {
            context.write(wrapOutboundOut(buffer), promise: nil)
        } else {
            lastWrite = context.write(wrapOutboundOut(buffer))
        }
        clientNeedsFlush = true
    }

    /// The upstream connection failed with an error (a TLS alert, a reset) before the response was complete:
    /// as a close (a pooled connection is retried once), with the error's category: `handshake-failed` for a
    /// TLS failure (TLS 1.3 backends refuse a client certificate after the handshake), else `unreachable`.
    func upstreamFailed(_ error: Error, channel: Channel) {
        let category = error is UpstreamTLSHandler.Failure ? ReasonCategory.handshakeFailed : .unreachable
        upstreamLost(channel, category: .verdict(category), detail: "failed: \(error)")
    }

    /// The backend sent something that is not a valid response: the connection is closed, and the client gets
    /// 502 unless the response had already begun (then its connection closes too, as for a cut-short response).
    func upstreamProtocolError(_ error: HTTP1.ParseError, channel: Channel) {
        guard upstream?.channel === channel, let exchange else { return }
        closeUpstream()
        if responseStarted, heldHead == nil {
            context?.close(promise: nil)  // the client has part of the response: it must not take it as whole
        } else {
            // Nothing of the response has gone to the client yet (its head waits for the first body bytes).
            heldHead = nil
            responseStarted = false
            lastUpstreamRead = nil
            finish(code: 502, reason: "Bad Gateway", category: .badResponse,
                   log: "\(exchange.target) sent an invalid response: \(error)")
        }
    }

    /// The end of a batch of reads from the backend: what was written to the client goes out in one flush.
    func upstreamReadComplete() {
        if let context { writeHeldHead(context: context) }
        if clientNeedsFlush, let context {
            clientNeedsFlush = false
            context.flush()
        }
    }

    /// The client can take more: read the backend again. While it cannot, the send timeout runs.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            unwritableSince = nil
            if let upstream, upstream.readPaused {
                upstream.readPaused = false
                setAutoRead(upstream.channel, true)
                lastUpstreamRead = .now()
            }
        } else if unwritableSince == nil {
            let now = NIODeadline.now()
            unwritableSince = now
            let deadline = now + environment.routes.current.sendTimeout
            if timer == nil || timerFiresAt > deadline { armTimer(at: deadline, eventLoop: context.eventLoop) }
        }
        context.fireChannelWritabilityChanged()
    }

    /// The response began: from now on each read from the backend must follow the last within the backend
    /// settings' read timeout (nginx's `proxy_read_timeout`).
    private func startReadTimeout(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        lastUpstreamRead = now
        guard let exchange else { return }
        let deadline = now + .seconds(clamping: exchange.route.settings.readTimeout)
        if timer == nil || timerFiresAt > deadline { armTimer(at: deadline, eventLoop: context.eventLoop) }
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
        upstreamLost(channel, category: .verdict(.unreachable), detail: "closed the connection before answering")
    }

    private func upstreamLost(_ channel: Channel, category: GatewayOutcome, detail: String) {
        guard upstream?.channel === channel else { return }
        closeUpstream()
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
        } else {
            finish(code: 502, reason: "Bad Gateway", category: category, log: "\(exchange.target) \(detail)")
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
        let deadline = NIODeadline.now() + .seconds(clamping: exchange.route.settings.requestTimeout)
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
        let now = NIODeadline.now()
        var next: NIODeadline?
        // A client that has taken nothing for the send timeout: closed (nginx's send_timeout).
        if let since = unwritableSince, let context {
            let deadline = since + environment.routes.current.sendTimeout
            if deadline <= now {
                environment.logger.notice("closing a client connection: it stopped reading", metadata: [
                    "gateway": "\(environment.gateway)", "client": "\(clientAddress)",
                ])
                closeUpstream()
                context.close(promise: nil)
                return
            }
            next = deadline
        }
        // A backend that stalls in the middle of its response: both connections close (the client cannot be told
        // otherwise once the response began), as nginx's proxy_read_timeout.
        if let last = lastUpstreamRead, responseStarted, let exchange, let upstream, !upstream.readPaused, let context {
            let deadline = last + .seconds(clamping: exchange.route.settings.readTimeout)
            if deadline <= now {
                environment.logger.warning("upstream failed", metadata: [
                    "gateway": "\(environment.gateway)", "pool": "\(exchange.route.pool.name)",
                    "member": "\(exchange.target)", "category": "\(ReasonCategory.timeout.rawValue)",
                    "detail": "no data from \(exchange.target) within the read timeout of \(UpstreamConnector.seconds(exchange.route.settings.readTimeout)) once its response began",
                ])
                closeUpstream()
                context.close(promise: nil)
                return
            }
            next = min(next ?? deadline, deadline)
        }
        if let deadline = responseDeadline, let exchange, !responseStarted {
            if deadline <= now {
                responseDeadline = nil
                closeUpstream()
                finish(code: 504, reason: "Gateway Timeout", category: .verdict(.timeout),
                       log: "no response from \(exchange.target) (pool \(exchange.route.pool.name)) within \(Int(exchange.route.settings.requestTimeout)) s")
                return
            }
            next = deadline
        }
        // Waiting for a request: an idle keep-alive connection closes after the keep-alive timeout (nginx's
        // keepalive_timeout), a head begun and not finished gets 408 after the header timeout.
        if let since = waitingSince, !responsePending, let context {
            let router = environment.routes.current
            let deadline = headBegunAt.map { $0 + router.headerTimeout } ?? since + router.keepAliveTimeout
            if deadline <= now {
                waitingSince = nil
                if receivedPartialHead {
                    keepAlive = false
                    refused = true
                    respondError(code: 408, reason: "Request Timeout", category: .verdict(.timeout), log: nil)
                } else {
                    context.close(promise: nil)
                }
                return
            }
            next = min(next ?? deadline, deadline)
        }
        if let next { armTimer(at: next, eventLoop: eventLoop) }
    }

    /// The request head as the backend gets it: HTTP/1.1; the fields the client sent except hop-by-hop ones,
    /// Expect and its own X-Forwarded-* (whose values the gateway's replace, X-Forwarded-For appended to);
    /// Host naming the backend; and the X-Forwarded-* set.
    private func upstreamHead(_ exchange: Exchange, context: ChannelHandlerContext) -> ByteBuffer {
        let request = exchange.request
        let head = request.head
        let originalHost = request.host
        let forwardedFor = head.has(.xForwardedFor) ? head.values(.xForwardedFor).joined(separator: ", ") + ", " : ""

        var buffer = context.channel.allocator.buffer(capacity: head.bytes.count + 256)
        let rewrite = exchange.route.rewrite
        request.writeForwardedHead(host: exchange.route.settings.hostHeader(for: exchange.member), into: &buffer) { field in
            rewrite.map { Self.rewrites(head, field, set: $0.requestSet, remove: $0.requestRemove) } ?? false
        }
        for field in rewrite?.requestSet ?? [] { buffer.writeString("\(field.name): \(field.value)\r\n") }
        buffer.writeStaticString("X-Forwarded-For: ")
        buffer.writeString(forwardedFor)
        buffer.writeString(clientAddress)
        buffer.writeStaticString("\r\nX-Forwarded-Proto: ")
        buffer.writeString(environment.listener.scheme.rawValue)
        buffer.writeStaticString("\r\nX-Forwarded-Port: ")
        buffer.writeString(boundPort)
        buffer.writeStaticString("\r\nX-Forwarded-Host: ")
        buffer.writeString(originalHost)
        buffer.writeStaticString("\r\nX-Original-Host: ")
        buffer.writeString(originalHost)
        buffer.writeStaticString("\r\n\r\n")
        return buffer
    }

    private func respondError(code: Int, reason: String, category: GatewayOutcome, log: String?) {
        guard let context else { return }
        if let log {
            environment.logger.warning("upstream failed", metadata: [
                "gateway": "\(environment.gateway)", "status": "\(code)", "category": "\(category)",
                "detail": "\(log)",
            ])
        }
        let body = "\(code) \(reason): \(category)\n"
        account(status: code, bodyBytes: body.utf8.count)
        exchange = nil
        // A request whose body has not all arrived closes the connection; one without a body keeps it.
        answer(
            "HTTP/1.1 \(code) \(reason)\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: \(body.utf8.count)\r\n"
                + "x-trustgate-reason: \(category)\r\n",
            body: body, context: context
        )
    }

    /// Writes an answer of the gateway's own (status line and fields given, `Connection` and the blank line
    /// added) and goes on: with the next request, or by closing when the client asked for that or its request
    /// body has not all arrived (a request without a body keeps the connection).
    private func answer(_ head: String, body: String, context: ChannelHandlerContext) {
        let closeAfter = !keepAlive || (!requestEnded && requestHasBody)
        var buffer = context.channel.allocator.buffer(capacity: head.utf8.count + body.utf8.count + 24)
        buffer.writeString(head)
        if closeAfter { buffer.writeStaticString("connection: close\r\n") }
        buffer.writeStaticString("\r\n")
        buffer.writeString(body)
        if closeAfter {
            responsePending = false
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { [channel = context.channel] _ in
                channel.close(promise: nil)
            }
        } else {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            responseComplete(context: context)
        }
    }

    /// A redirect rule's answer: the same host on the target listener's scheme and port, with the path and query
    /// unless the rule drops them (Azure's HTTP-to-HTTPS redirect).
    private func respondRedirect(_ redirect: GatewayConfiguration.Redirect, request: HTTP1.Request, router: Router) {
        guard let context, let listener = router.configuration.listeners.first(where: { $0.name == redirect.listener }) else {
            return
        }
        var host = Router.hostWithoutPort(request.host)
        if host.isEmpty { host = listener.hostNames.first { !$0.hasPrefix("*.") } ?? listener.address }
        guard host.utf8.allSatisfy({ HTTP1.isTokenByte($0) || $0 == UInt8(ascii: ":") }) else {
            respondError(code: 400, reason: "Bad Request", category: .badRequest, log: nil)
            return
        }
        let port = environment.boundPorts.port(of: listener.name) ?? listener.port
        let shown = host.contains(":") ? "[\(host)]" : host
        let authority = port == (listener.scheme == .https ? 443 : 80) ? shown : "\(shown):\(port)"
        let path = redirect.includePath && request.target.form != .asterisk ? request.target.path : "/"
        let query = redirect.includeQuery ? request.target.query.map { "?" + $0 } ?? "" : ""
        let location = "\(listener.scheme.rawValue)://\(authority)\(path.hasPrefix("/") ? path : "/" + path)\(query)"
        let reasons = [301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect", 308: "Permanent Redirect"]
        account(status: redirect.status, bodyBytes: 0)
        answer("HTTP/1.1 \(redirect.status) \(reasons[redirect.status] ?? "Redirect")\r\nlocation: \(location)\r\n"
               + "content-length: 0\r\n", body: "", context: context)
    }

    /// The request is answered: the metrics, and the access log when there is one.
    private func account(status: Int, bodyBytes: Int) {
        let now = NIODeadline.now()
        let duration = (now - requestStart).nanoseconds
        environment.metrics.requestAnswered(pool: currentPool, status: status, nanoseconds: duration)
        if let accessLog = environment.accessLog {
            let request = currentRequest
            let upstream = upstreamSentAt.flatMap { sent in upstreamAnsweredAt.map { ($0 - sent).nanoseconds } }
            accessLog.log(AccessLog.Record(
                time: Date(), client: clientAddress, host: request?.host ?? "",
                method: request?.head.method ?? "", path: request?.target.originForm ?? "", status: status, pool: currentPool,
                member: exchange?.target ?? "-", upstreamNanoseconds: upstream, durationNanoseconds: duration,
                bytes: bodyBytes
            ))
        }
        currentRequest = nil
        upstreamSentAt = nil
        upstreamAnsweredAt = nil
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

/// Cuts the backend's responses out of its byte stream and hands their parts to the client connection that holds
/// the upstream connection (same event loop). Informational (1xx) responses are not relayed. While the connection
/// idles in the pool it has no owner: anything the backend sends then is a protocol error and closes it.
final class UpstreamResponseHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    var owner: ProxyHandler?
    private var heads = HeadReader(request: false)
    private var body: BodyReader?
    private var framing = HTTP1.Framing.none
    /// Whether a response is awaited, and how to read it.
    private var awaiting = false
    private var toHEAD = false
    /// The client speaks HTTP/1.0: a chunked or close-delimited body goes to it as data alone.
    private var dechunk = false

    /// A request has been sent: its response is read next.
    func expectResponse(toHEAD: Bool, dechunk: Bool) {
        awaiting = true
        self.toHEAD = toHEAD
        self.dechunk = dechunk
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        var slices: [ByteBuffer] = []
        do throws(HTTP1.ParseError) {
            while buffer.readableBytes > 0 {
                guard let owner, awaiting else {
                    context.close(promise: nil)  // nothing was asked
                    return
                }
                if body == nil {
                    guard let bytes = try heads.take(&buffer) else { return }
                    let head = try HTTP1.parse(bytes, request: false)
                    if head.status == 101 { throw HTTP1.ParseError.malformed("101 Switching Protocols") }
                    if head.status < 200 { continue }  // 100 Continue, 103 Early Hints: not relayed
                    framing = try HTTP1.responseFraming(head, toHEAD: toHEAD)
                    if framing.hasBody {
                        body = BodyReader(framing, output: dechunk ? .dechunk : framing == .untilClose ? .reframe : .relay)
                        owner.upstreamResponse(.head(head, framing))
                    } else {
                        awaiting = false
                        owner.upstreamResponse(.head(head, framing))
                        owner.upstreamResponse(.end)
                    }
                } else if var reader = body {
                    body = nil
                    let done = try reader.read(&buffer, into: &slices, allocator: context.channel.allocator)
                    if !done { body = reader }
                    for slice in slices { owner.upstreamResponse(.body(slice)) }
                    slices.removeAll(keepingCapacity: true)
                    if done {
                        awaiting = false
                        owner.upstreamResponse(.end)
                    }
                }
            }
        } catch {
            let owner = self.owner
            self.owner = nil
            owner?.upstreamProtocolError(error, channel: context.channel)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A body that runs until the backend closes ends here (with the last chunk when it went as chunks).
        if let reader = body, framing == .untilClose, let owner {
            body = nil
            awaiting = false
            if let last = reader.finish(allocator: context.channel.allocator) { owner.upstreamResponse(.body(last)) }
            owner.upstreamResponse(.end)
        }
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
        // A TLS alert after the handshake (TLS 1.3 backends check a client certificate only then).
        let owner = self.owner
        self.owner = nil
        owner?.upstreamFailed(error, channel: context.channel)
        context.close(promise: nil)
    }
}
