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
///
/// A WebSocket handshake goes to the backend like any request; the client's bytes after it are held, unparsed,
/// until the backend answers. Its `101` makes the two connections a tunnel (``ProxyHandler/tunnelFromBackend(_:)``):
/// bytes both ways as they come, with backpressure each way, until either side closes or the tunnel idles for
/// `websocket-idle-timeout`; the upstream connection is never pooled again.
final class ProxyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A request as the parser cuts it from the byte stream: its head, body bytes as the backend gets them (as they
    /// arrived for a Content-Length body, in canonical chunked framing for a chunked one), its end.
    typealias RequestPart = HTTP1MessageReader<HTTP1RequestFramer>.Part

    /// A response as ``UpstreamResponseHandler`` cuts it from the backend's byte stream.
    enum ResponsePart {
        case head(HTTP1.Head, HTTP1.Framing)
        case body(ByteBuffer)
        case end
        /// A 101 that accepts the request's WebSocket handshake: what follows is tunnelled.
        case switching(HTTP1.Head)
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

    let environment: Environment
    var machine = ProxyConnectionStateMachine()
    /// The request in progress and where it goes.
    var exchange: ProxyExchange?
    var upstream: UpstreamLink?
    var record = ExchangeRecord(request: nil, start: .uptimeNanoseconds(0))
    var context: ChannelHandlerContext?
    private var reader = HTTP1MessageReader<HTTP1RequestFramer>(request: true)
    /// The client's address and the listener's port as the X-Forwarded-* headers carry them (made once).
    var clientAddress = "unknown"
    private(set) var requestHead = UpstreamRequestHead(clientAddress: "unknown", scheme: "http", port: "")
    /// Writes are flushed once per read batch (`channelReadComplete`), not once per HTTP part: one TLS write
    /// and one system call per direction per request.
    var upstreamNeedsFlush = false
    var clientNeedsFlush = false
    var reading = false
    private var clientReadPaused = false
    /// One timer per connection, re-armed lazily (keep-alive requests answered in time never touch it).
    private var timer: Scheduled<Void>?
    private var timerFiresAt = NIODeadline.distantFuture
    /// A response head waiting for the first body bytes, to go out with them.
    var heldHead: ByteBuffer?
    /// While the client connection closes after the response: the last write, which the close waits for.
    var lastWrite: EventLoopFuture<Void>?
    /// The client's bytes after a WebSocket handshake, held until the backend accepts it.
    var heldRaw: [ByteBuffer] = []
    var heldRawBytes = 0
    /// In a tunnel: the last write to the backend, which closing it after the client left waits for.
    var lastUpstreamWrite: EventLoopFuture<Void>?

    init(environment: Environment) {
        self.environment = environment
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        clientAddress = context.remoteAddress?.ipAddress ?? "unknown"
        requestHead = UpstreamRequestHead(
            clientAddress: clientAddress, scheme: environment.listener.scheme.rawValue, port: String(environment.boundPort)
        )
        environment.connections.add(context.channel, handler: NIOLoopBound(self, eventLoop: context.eventLoop))
        limits = ProxyTimeouts.Limits(environment.routes.current)
        // For the first request the header timeout runs from the accept, as nginx's `client_header_timeout` does:
        // a client that connects and sends nothing (or never finishes its TLS handshake) is closed then.
        machine.waitForRequest(at: now)
        armTimer()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if machine.phase == .tunnel, let upstream, let lastUpstreamWrite {
            // What the client sent before it left (a WebSocket Close frame) still reaches the backend.
            self.upstream = nil
            upstream.handler.owner = nil
            upstream.channel.flush()
            lastUpstreamWrite.whenComplete { _ in upstream.channel.close(promise: nil) }
        }
        closeUpstream()
        context.fireChannelInactive()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        flushUpstream()
        context.fireChannelReadComplete()
    }

    func flushUpstream() {
        if upstreamNeedsFlush, let upstream {
            upstreamNeedsFlush = false
            upstream.channel.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !machine.refused else { return }
        reading = true
        var buffer = unwrapInboundIn(data)
        if machine.phase == .tunnel { return relayToBackend(buffer) }
        if machine.holdingRaw { return holdRaw(buffer) }
        let framer = HTTP1RequestFramer(allowEncodedSlashes: environment.routes.current.configuration.allowEncodedSlashes)
        do throws(HTTP1.ParseError) {
            while !machine.refused, !machine.holdingRaw,
                let part = try reader.next(&buffer, framer: framer, allocator: context.channel.allocator)
            {
                deliver(part, context: context)
            }
            if machine.holdingRaw {
                if buffer.readableBytes > 0 { holdRaw(buffer) }
            } else if reader.isPartialHead {
                machine.headBegan(at: now)
            }
        } catch {
            refuse(error, context: context)
        }
    }

    /// The client sent something that is not HTTP/1.1: answered with the parser's status unless a response is
    /// under way, and closed, as nginx does.
    private func refuse(_ error: HTTP1.ParseError, context: ChannelHandlerContext) {
        record = ExchangeRecord(request: nil, start: now)
        environment.logger.notice("refused a request", metadata: [
            "gateway": "\(environment.gateway)", "client": "\(clientAddress)", "detail": "\(error)",
        ])
        closeUpstream()
        switch machine.refuse() {
        case .answer:
            exchange = nil
            let status = error.status
            respondError(status.code, status.reason, category: .badRequest, log: nil)
        case .close:
            context.close(promise: nil)
        }
    }

    /// Bytes after a WebSocket handshake: not HTTP, and for the backend only once it accepted the handshake.
    private func holdRaw(_ buffer: ByteBuffer) {
        heldRaw.append(buffer)
        heldRawBytes += buffer.readableBytes
        if heldRawBytes > 65_536 { pauseClient() }
    }

    /// A tunnel's bytes from the client, to the backend as they come; a backend that takes nothing stops the
    /// client being read.
    private func relayToBackend(_ buffer: ByteBuffer) {
        guard let upstream else { return }
        machine.tunnelActivity(at: now)
        lastUpstreamWrite = upstream.channel.write(buffer)
        upstreamNeedsFlush = true
        if !upstream.channel.isWritable { pauseClient() }
    }

    private func deliver(_ part: RequestPart, context: ChannelHandlerContext) {
        let (handleNow, pause) = machine.received(part)
        if handleNow { handle(part, context: context) } else if pause { pauseClient() }
    }

    private func handle(_ part: RequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let request):
            machine.requestHead(request)
            begin(request, context: context)
        case .body(let buffer):
            switch machine.requestBody(buffer) {
            case .forward:
                guard let upstream else { return }
                exchange?.bodySent = true
                upstream.channel.write(buffer, promise: nil)
                upstreamNeedsFlush = true
                // Backpressure: a slow backend stops us reading the client until its buffer drains.
                if !upstream.channel.isWritable { pauseClient() }
            case .buffered(let pause):
                if pause { pauseClient() }
            case .drop:
                break
            }
        case .end:
            switch machine.requestEnd() {
            case .none: break
            case .flushUpstream: flushUpstream()
            case .closeClient: context.close(promise: nil)
            }
        }
    }

    /// The response in progress has been written in full: the next pipelined request, if any, goes.
    func responseComplete(context: ChannelHandlerContext) {
        machine.responseWritten(at: now)
        armTimer()
        while let part = machine.nextPipelined() { handle(part, context: context) }
        resumeClient()
        if !reading { flushUpstream() }
    }

    /// The gateway is stopping: close now when idle, else after the response in flight.
    func beginDraining() {
        if machine.drain() { context?.close(promise: nil) }
    }

    // MARK: Flow control

    /// The client can take more: read the backend again. While it cannot, the send timeout runs.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        machine.clientWritable(writable, at: now)
        if writable {
            if let upstream, upstream.readPaused {
                upstream.readPaused = false
                setAutoRead(upstream.channel, true)
                machine.responseBody(at: now)
            }
        } else {
            armTimer()
        }
        context.fireChannelWritabilityChanged()
    }

    func pauseClient() {
        guard !clientReadPaused else { return }
        clientReadPaused = true
        setAutoRead(context?.channel, false)
    }

    func resumeClient() {
        guard clientReadPaused, !machine.pipeline.isOverLimit, heldRawBytes <= 65_536 else { return }
        clientReadPaused = false
        setAutoRead(context?.channel, true)
    }

    func pauseUpstream() {
        guard let upstream, !upstream.readPaused else { return }
        upstream.readPaused = true
        setAutoRead(upstream.channel, false)
    }

    func setAutoRead(_ channel: Channel?, _ on: Bool) {
        channel?.setOption(ChannelOptions.autoRead, value: on).whenFailure { _ in }
    }

    // MARK: Time

    /// The event loop's clock (an `EmbeddedEventLoop`'s in tests, which they turn by hand).
    var now: NIODeadline { context?.eventLoop.now ?? .now() }

    /// The client timeouts of the configuration in force when the connection began or its last request did (a
    /// reload applies from the next request; read once, not once per timer).
    var limits = ProxyTimeouts.Limits(keepAlive: .seconds(75), header: .seconds(60), send: .seconds(60))

    /// Arms the timer for the soonest deadline, unless it already fires before that.
    func armTimer() {
        guard let context, let deadline = machine.nextDeadline(limits, backendPaused: upstream?.readPaused ?? true) else {
            return
        }
        guard timer == nil || timerFiresAt > deadline else { return }
        timer?.cancel()
        timerFiresAt = deadline
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) { bound.value.timerFired() }
    }

    private func timerFired() {
        timer = nil
        guard let context else { return }
        let expiry = machine.expired(at: now, limits, backendPaused: upstream?.readPaused ?? true)
        switch expiry {
        case nil:
            armTimer()
        case .clientStoppedReading:
            environment.logger.notice("closing a client connection: it stopped reading", metadata: [
                "gateway": "\(environment.gateway)", "client": "\(clientAddress)",
            ])
            closeUpstream()
            context.close(promise: nil)
        case .backendStalled:
            if let exchange {
                let readTimeout = UpstreamConnector.seconds(exchange.route.settings.readTimeout)
                environment.logger.warning("upstream failed", metadata: [
                    "gateway": "\(environment.gateway)", "pool": "\(exchange.route.pool.name)",
                    "member": "\(exchange.target)", "category": "\(ReasonCategory.timeout.rawValue)",
                    "detail": "no data from \(exchange.target) within the read timeout of \(readTimeout) once its response began",
                ])
            }
            closeUpstream()
            context.close(promise: nil)
        case .noResponse:
            closeUpstream()
            guard let exchange else { return armTimer() }
            finish(GatewayAnswer.gatewayTimeout, category: .verdict(.timeout),
                   log: "no response from \(exchange.target) (pool \(exchange.route.pool.name)) within \(Int(exchange.route.settings.requestTimeout)) s")
        case .headIncomplete:
            machine.headTimedOut()
            record = ExchangeRecord(request: nil, start: now)
            respondError(408, "Request Timeout", category: .verdict(.timeout), log: nil)
        case .idle:
            context.close(promise: nil)
        case .tunnelIdle:
            environment.logger.notice("closing a WebSocket tunnel: idle for its timeout", metadata: [
                "gateway": "\(environment.gateway)", "client": "\(clientAddress)",
            ])
            closeUpstream()
            context.close(promise: nil)
        }
    }

    // MARK: Answers of the gateway's own

    func respondError(_ code: Int, _ reason: String, category: GatewayOutcome, log: String?) {
        guard let context else { return }
        if let log {
            environment.logger.warning("upstream failed", metadata: [
                "gateway": "\(environment.gateway)", "status": "\(code)", "category": "\(category)",
                "detail": "\(log)",
            ])
        }
        let answer = GatewayAnswer.error(code, reason, category: category)
        account(status: code, bodyBytes: answer.body.utf8.count)
        exchange = nil
        send(answer, context: context)
    }

    /// Writes an answer of the gateway's own (`Connection` and the blank line added) and goes on: with the next
    /// request, or by closing when the client asked for that or its request body has not all arrived.
    func send(_ answer: GatewayAnswer, context: ChannelHandlerContext) {
        let closeAfter = machine.answerCloses()
        var buffer = context.channel.allocator.buffer(capacity: answer.head.utf8.count + answer.body.utf8.count + 24)
        buffer.writeString(answer.head)
        if closeAfter { buffer.writeStaticString("connection: close\r\n") }
        buffer.writeStaticString("\r\n")
        buffer.writeString(answer.body)
        if closeAfter {
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { [channel = context.channel] _ in
                channel.close(promise: nil)
            }
        } else {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            responseComplete(context: context)
        }
    }

    /// The request is answered: the metrics, and the access log when there is one.
    func account(status: Int, bodyBytes: Int) {
        let now = self.now
        environment.metrics.requestAnswered(pool: record.pool, status: status, nanoseconds: (now - record.start).nanoseconds)
        if let accessLog = environment.accessLog {
            accessLog.log(record.accessLogRecord(client: clientAddress, status: status, bodyBytes: bodyBytes, now: now, time: Date()))
        }
        record.request = nil
        record.upstreamSentAt = nil
        record.upstreamAnsweredAt = nil
    }
}
