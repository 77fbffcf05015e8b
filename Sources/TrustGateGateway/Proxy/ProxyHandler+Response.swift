import NIOCore
import TrustGateAllowList
import TrustGatePKI

/// The backend's side of an exchange (same event loop): its response streamed to the client, its failures, and
/// the upstream connection returned to the pool after a complete keep-alive exchange.
extension ProxyHandler {
    func upstreamResponse(_ part: ResponsePart) {
        guard let context else { return }
        switch part {
        case .head(let head, let framing):
            let readTimeout = exchange.map { TimeAmount.seconds(clamping: $0.route.settings.readTimeout) }
            let now = self.now
            machine.responseHead(head, framing: framing, at: now, readTimeout: readTimeout)
            armTimer()
            record.status = head.status
            record.bytes = 0
            record.upstreamAnsweredAt = now
            var buffer = context.channel.allocator.buffer(capacity: head.bytes.count + 64)
            let rewrite = exchange?.route.rewrite
            let secure = environment.listener.scheme == .https
            ClientResponseHead.write(
                head, framing: framing, keepAlive: machine.keepAlive, clientMinorVersion: machine.requestMinorVersion,
                extraFields: (exchange?.affinityCookie(secure: secure) ?? "")
                    + (rewrite?.responseSet.map { "\($0.name): \($0.value)\r\n" }.joined() ?? ""),
                dropping: rewrite.map { rewrite in
                    { ClientResponseHead.rewrites(head, $0, set: rewrite.responseSet, remove: rewrite.responseRemove) }
                },
                into: &buffer
            )
            // Held until the first body bytes, which usually came in the same read: one write, one TLS record.
            heldHead = buffer
        case .body(let buffer):
            machine.responseBody(at: now)
            record.bytes += buffer.readableBytes
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
        case .switching(let head):
            switchProtocols(head, context: context)
        case .end:
            writeHeldHead(context: context)
            clientNeedsFlush = false
            let end = machine.responseEnd()
            if end.reuseUpstream { releaseUpstream() } else { closeUpstream() }
            account(status: record.status, bodyBytes: record.bytes)
            exchange = nil
            resumeClient()
            context.flush()
            if end.keepClient {
                responseComplete(context: context)
            } else if let lastWrite {
                lastWrite.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
        }
    }

    /// The backend accepted the WebSocket handshake: the client gets its 101, the backend what the client sent
    /// after the handshake, and from now on bytes go both ways (``tunnelFromBackend(_:)``, `relayToBackend`).
    private func switchProtocols(_ head: HTTP1.Head, context: ChannelHandlerContext) {
        let now = self.now
        let idle = exchange.map { TimeAmount.seconds(clamping: $0.route.settings.webSocketIdleTimeout) } ?? .hours(1)
        machine.switchProtocols(at: now, idle: idle)
        armTimer()
        record.status = 101
        record.bytes = 0
        record.upstreamAnsweredAt = now
        var buffer = context.channel.allocator.buffer(capacity: head.bytes.count + 64)
        let rewrite = exchange?.route.rewrite
        ClientResponseHead.writeSwitching(
            head,
            extraFields: (exchange?.affinityCookie(secure: environment.listener.scheme == .https) ?? "")
                + (rewrite?.responseSet.map { "\($0.name): \($0.value)\r\n" }.joined() ?? ""),
            dropping: rewrite.map { rewrite in
                { ClientResponseHead.rewrites(head, $0, set: rewrite.responseSet, remove: rewrite.responseRemove) }
            },
            into: &buffer
        )
        writeToClient(buffer, context: context)
        context.flush()
        clientNeedsFlush = false
        account(status: 101, bodyBytes: 0)
        exchange = nil
        if let upstream {
            for part in heldRaw { lastUpstreamWrite = upstream.channel.write(part) }
            upstream.channel.flush()
        }
        heldRaw = []
        heldRawBytes = 0
        resumeClient()
    }

    /// A tunnel's bytes from the backend, to the client as they come; a client that takes nothing stops the
    /// backend being read (and its send timeout runs).
    func tunnelFromBackend(_ buffer: ByteBuffer) {
        guard let context, machine.phase == .tunnel else { return }
        machine.tunnelActivity(at: now)
        writeToClient(buffer, context: context)
        if !context.channel.isWritable { pauseUpstream() }
    }

    private func writeHeldHead(context: ChannelHandlerContext) {
        if let head = heldHead {
            heldHead = nil
            writeToClient(head, context: context)
        }
    }

    /// A write to the client; when the connection closes after this response, the close waits for the last one.
    private func writeToClient(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        if machine.keepAlive {
            context.write(wrapOutboundOut(buffer), promise: nil)
        } else {
            lastWrite = context.write(wrapOutboundOut(buffer))
        }
        clientNeedsFlush = true
    }

    /// The end of a batch of reads from the backend: what was written to the client goes out in one flush.
    func upstreamReadComplete() {
        guard let context else { return }
        writeHeldHead(context: context)
        if clientNeedsFlush {
            clientNeedsFlush = false
            context.flush()
        }
    }

    /// The backend can take more: read the client again.
    func upstreamWritabilityChanged(_ channel: Channel) {
        if channel.isWritable, machine.phase == .exchanging || machine.phase == .tunnel { resumeClient() }
    }

    /// The upstream connection failed with an error (a TLS alert, a reset) before the response was complete:
    /// as a close (a pooled connection is retried once), with the error's category: `handshake-failed` for a
    /// TLS failure (TLS 1.3 backends refuse a client certificate after the handshake), else `unreachable`.
    func upstreamFailed(_ error: Error, channel: Channel) {
        let category = error is UpstreamTLSHandler.Failure ? ReasonCategory.handshakeFailed : .unreachable
        upstreamLost(channel, category: .verdict(category), detail: "failed: \(error)")
    }

    func upstreamClosed(_ channel: Channel) {
        upstreamLost(channel, category: .verdict(.unreachable), detail: "closed the connection before answering")
    }

    /// The backend sent something that is not a valid response: the connection is closed, and the client gets
    /// 502 unless the response had already begun (then its connection closes too, as for a cut-short response).
    func upstreamProtocolError(_ error: HTTP1.ParseError, channel: Channel) {
        guard upstream?.channel === channel, let exchange else { return }
        closeUpstream()
        // Nothing of the response has gone to the client while its head waits for the first body bytes.
        if machine.upstreamProtocolError(headSent: heldHead == nil) {
            context?.close(promise: nil)  // the client has part of the response: it must not take it as whole
        } else {
            heldHead = nil
            finish(GatewayAnswer.badGateway, category: .badResponse, log: "\(exchange.target) sent an invalid response: \(error)")
        }
    }

    private func upstreamLost(_ channel: Channel, category: GatewayOutcome, detail: String) {
        guard upstream?.channel === channel else { return }
        closeUpstream()
        if machine.phase == .tunnel {
            // The backend ended the tunnel: the client gets what it sent first (its Close frame), then the close.
            guard let context else { return }
            if clientNeedsFlush {
                clientNeedsFlush = false
                context.flush()
            }
            if let lastWrite {
                lastWrite.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
            return
        }
        guard let exchange, let context else { return }
        let retry = exchange.retryingOnNewConnection()
        switch machine.upstreamLost(canRetry: retry != nil) {
        case .none, .endTunnel:
            break
        case .closeClient:
            context.close(promise: nil)
        case .retry:
            // A pooled connection the backend closed while idle (its keep-alive timeout): nothing was processed,
            // so the request goes again on a new connection, as nginx does.
            if let retry { dispatch(retry, buffered: [], bytes: 0, context: context) }
        case .answer:
            finish(GatewayAnswer.badGateway, category: category, log: "\(exchange.target) \(detail)")
        }
    }

    func attach(_ link: UpstreamLink) {
        upstream = link
        link.handler.owner = self
        if link.readPaused {
            link.readPaused = false
            setAutoRead(link.channel, true)
        }
    }

    /// Back to the pool after a complete exchange that the backend keeps alive.
    private func releaseUpstream() {
        guard let upstream else { return }
        self.upstream = nil
        upstreamNeedsFlush = false
        upstream.handler.owner = nil
        if upstream.readPaused {
            upstream.readPaused = false
            setAutoRead(upstream.channel, true)
        }
        environment.connector.pool.put(upstream)
    }

    func closeUpstream() {
        guard let upstream else { return }
        self.upstream = nil
        upstreamNeedsFlush = false
        upstream.handler.owner = nil
        upstream.channel.close(promise: nil)
    }
}
