import Foundation
import Logging
import NIOCore
import NIOHTTP1
import TrustGatePKI

/// One client connection: routes each request, opens (or reuses) the upstream connection, forwards the request
/// with the X-Forwarded-* headers, and streams the response back. A backend the allow-list rejects gets the
/// client a 502 naming the reason category; a timeout a 504.
final class ProxyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct Environment: Sendable {
        var gateway: String
        var listener: GatewayConfiguration.Listener
        var boundPort: Int
        var router: Router
        var connector: UpstreamConnector
        var logger: Logger
    }

    private enum State {
        case idle
        case connecting(buffered: [HTTPClientRequestPart])
        case forwarding(Channel)
        case discarding
    }

    private let environment: Environment
    private var state = State.idle
    private var upstream: UpstreamConnector.Connection?
    private var context: ChannelHandlerContext?
    private var requestVersion = HTTPVersion.http1_1
    private var keepAlive = true
    private var requestEnded = false
    private var responseStarted = false
    private var timeout: Scheduled<Void>?
    private var exchange = 0

    init(environment: Environment) {
        self.environment = environment
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        upstream?.channel.close(promise: nil)
        upstream = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            begin(head, context: context)
        case .body(let buffer):
            forward(.body(.byteBuffer(buffer)))
        case .end(let trailers):
            requestEnded = true
            if case .discarding = state {
                state = .idle
            } else {
                forward(.end(trailers))
            }
        }
    }

    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        exchange += 1
        requestVersion = head.version
        keepAlive = head.isKeepAlive
        requestEnded = false
        responseStarted = false
        guard let route = environment.router.route(listener: environment.listener.name, path: head.uri),
            let member = environment.router.member(of: route.pool)
        else {
            respondError(.notFound, category: "no-route", log: "no rule routes \(head.uri)")
            state = .discarding
            return
        }
        let settings = route.settings
        let port = settings.port ?? member.port ?? (settings.scheme == .https ? 443 : 80)
        let target = "\(member.host):\(port)"
        var upstreamHead = rewrite(head, hostName: settings.hostName(for: member), port: port, scheme: settings.scheme,
                                   context: context)
        // Expect: 100-continue is answered here, as nginx does: the gateway is ready for the body; the backend
        // gets the request without the expectation.
        if head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
            upstreamHead.headers.remove(name: "expect")
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil
            )
        }
        scheduleTimeout(settings.requestTimeout, context: context, pool: route.pool.name, member: target)
        if let upstream, upstream.target == target, upstream.channel.isActive {
            state = .forwarding(upstream.channel)
            upstream.channel.write(HTTPClientRequestPart.head(upstreamHead), promise: nil)
            return
        }
        upstream?.channel.close(promise: nil)
        upstream = nil
        state = .connecting(buffered: [.head(upstreamHead)])
        let exchange = self.exchange
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        environment.connector.connect(member: member, settings: settings, eventLoop: eventLoop) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    UpstreamResponseHandler(proxy: bound.value, eventLoop: eventLoop)
                )
            }
        }.hop(to: eventLoop).whenComplete { result in
            bound.value.connected(
                result, exchange: exchange, pool: route.pool.name, member: target, hostName: settings.hostName(for: member)
            )
        }
    }

    private func connected(
        _ result: Result<UpstreamConnector.Connection, Error>, exchange: Int, pool: String, member: String,
        hostName: String
    ) {
        guard exchange == self.exchange, case .connecting(let buffered) = state else {
            if case .success(let connection) = result { connection.channel.close(promise: nil) }
            return
        }
        switch result {
        case .success(let connection):
            upstream = connection
            state = .forwarding(connection.channel)
            for part in buffered { connection.channel.write(part, promise: nil) }
            connection.channel.flush()
        case .failure(let error):
            timeout?.cancel()
            state = requestEnded ? .idle : .discarding
            switch error {
            case UpstreamConnector.Failure.rejected(let verdict):
                logRejection(verdict, pool: pool, member: member, hostName: hostName)
                respondError(.badGateway, category: verdict.category.rawValue, log: nil)
            case UpstreamConnector.Failure.timeout(let detail):
                respondError(.gatewayTimeout, category: ReasonCategory.timeout.rawValue, log: detail)
            case UpstreamConnector.Failure.unreachable(let detail):
                respondError(.badGateway, category: ReasonCategory.unreachable.rawValue, log: detail)
            default:
                respondError(.badGateway, category: ReasonCategory.handshakeFailed.rawValue, log: "\(error)")
            }
        }
    }

    private func forward(_ part: HTTPClientRequestPart) {
        switch state {
        case .connecting(var buffered):
            buffered.append(part)
            state = .connecting(buffered: buffered)
        case .forwarding(let channel):
            if case .end = part {
                channel.writeAndFlush(part, promise: nil)
            } else {
                channel.writeAndFlush(part, promise: nil)
                // Backpressure: a slow backend stops us reading the client until its buffer drains.
                if !channel.isWritable { setAutoRead(context?.channel, false) }
            }
        case .idle, .discarding:
            break
        }
    }

    // MARK: Responses from the upstream (same event loop)

    func upstreamResponse(_ part: HTTPClientResponsePart) {
        guard let context else { return }
        switch part {
        case .head(let head):
            timeout?.cancel()
            responseStarted = true
            var headers = head.headers
            Self.removeHopByHop(&headers)
            if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
            let response = HTTPResponseHead(version: requestVersion, status: head.status, headers: headers)
            context.write(wrapOutboundOut(.head(response)), promise: nil)
        case .body(let buffer):
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            // Backpressure: a slow client stops us reading the backend until its buffer drains.
            if !context.channel.isWritable { setAutoRead(upstream?.channel, false) }
        case .end(let trailers):
            responseStarted = false
            if requestEnded { state = .idle }
            let keepAlive = self.keepAlive
            context.writeAndFlush(wrapOutboundOut(.end(trailers))).whenComplete { [channel = context.channel] _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }

    /// The client can take more: read the backend again.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { setAutoRead(upstream?.channel, true) }
        context.fireChannelWritabilityChanged()
    }

    /// The backend can take more: read the client again.
    func upstreamWritabilityChanged(_ channel: Channel) {
        if channel.isWritable { setAutoRead(context?.channel, true) }
    }

    private func setAutoRead(_ channel: Channel?, _ on: Bool) {
        channel?.setOption(ChannelOptions.autoRead, value: on).whenFailure { _ in }
    }

    func upstreamClosed(_ channel: Channel) {
        guard upstream?.channel === channel else { return }
        upstream = nil
        guard case .forwarding = state else { return }
        timeout?.cancel()
        if responseStarted {
            context?.close(promise: nil)  // the response is cut short: the client must not take it as whole
        } else {
            state = requestEnded ? .idle : .discarding
            respondError(.badGateway, category: ReasonCategory.unreachable.rawValue, log: "the backend closed the connection")
        }
    }

    // MARK: Helpers

    private func scheduleTimeout(_ seconds: TimeInterval, context: ChannelHandlerContext, pool: String, member: String) {
        timeout?.cancel()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let exchange = self.exchange
        timeout = context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            let handler = bound.value
            guard handler.exchange == exchange, !handler.responseStarted else { return }
            handler.upstream?.channel.close(promise: nil)
            handler.upstream = nil
            handler.state = handler.requestEnded ? .idle : .discarding
            handler.respondError(.gatewayTimeout, category: ReasonCategory.timeout.rawValue,
                                 log: "no response from \(member) (pool \(pool)) within \(Int(seconds)) s")
        }
    }

    private func rewrite(
        _ head: HTTPRequestHead, hostName: String, port: Int, scheme: GatewayConfiguration.Scheme,
        context: ChannelHandlerContext
    ) -> HTTPRequestHead {
        var headers = head.headers
        Self.removeHopByHop(&headers)
        let originalHost = head.headers.first(name: "host") ?? ""
        let client = context.remoteAddress?.ipAddress ?? "unknown"
        let forwardedFor = headers[canonicalForm: "x-forwarded-for"].joined(separator: ", ")
        headers.replaceOrAdd(name: "x-forwarded-for", value: forwardedFor.isEmpty ? client : "\(forwardedFor), \(client)")
        headers.replaceOrAdd(name: "x-forwarded-proto", value: environment.listener.scheme.rawValue)
        headers.replaceOrAdd(name: "x-forwarded-port", value: String(environment.boundPort))
        headers.replaceOrAdd(name: "x-forwarded-host", value: originalHost)
        headers.replaceOrAdd(name: "x-original-host", value: originalHost)
        let defaultPort = scheme == .https ? 443 : 80
        let shownHost = hostName.contains(":") ? "[\(hostName)]" : hostName
        headers.replaceOrAdd(name: "host", value: port == defaultPort ? shownHost : "\(shownHost):\(port)")
        return HTTPRequestHead(version: .http1_1, method: head.method, uri: head.uri, headers: headers)
    }

    /// RFC 9110 §7.6.1: connection-specific headers, and any the Connection header names, are not forwarded.
    /// Transfer-Encoding stays: it frames the body the encoder on the other side writes.
    static func removeHopByHop(_ headers: inout HTTPHeaders) {
        let named = headers[canonicalForm: "connection"].map { $0.lowercased() }
        for name in ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "proxy-authenticate",
                     "proxy-authorization"] + named where name != "transfer-encoding" {
            headers.remove(name: name)
        }
    }

    private func respondError(_ status: HTTPResponseStatus, category: String, log: String?) {
        guard let context else { return }
        if let log {
            environment.logger.warning("upstream failed", metadata: [
                "gateway": "\(environment.gateway)", "category": "\(category)", "detail": "\(log)",
            ])
        }
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
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
            if closeAfter { channel.close(promise: nil) }
        }
    }

    private func logRejection(_ verdict: TrustVerdict, pool: String, member: String, hostName: String) {
        let leaf = verdict.chain.first
        environment.logger.error("backend rejected", metadata: [
            "gateway": "\(environment.gateway)", "pool": "\(pool)", "member": "\(member)",
            "category": "\(verdict.category.rawValue)", "expected": "\(hostName)",
            "leaf_sha256": "\(leaf?.sha256.hexString ?? "-")",
            "leaf_sans": "\(leaf?.subjectAlternativeNames.map(SubjectAlternativeName.display).joined(separator: ",") ?? "-")",
            "leaf_not_after": "\(leaf.map { RFC3339.format($0.notAfter) } ?? "-")",
            "detail": "\(verdict.detail)",
        ])
    }
}

/// Hands an upstream connection's response parts to the client connection's ``ProxyHandler`` (same event loop).
final class UpstreamResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let proxy: NIOLoopBound<ProxyHandler>

    init(proxy: ProxyHandler, eventLoop: EventLoop) {
        self.proxy = NIOLoopBound(proxy, eventLoop: eventLoop)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        proxy.value.upstreamResponse(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        proxy.value.upstreamClosed(context.channel)
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        proxy.value.upstreamWritabilityChanged(context.channel)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
