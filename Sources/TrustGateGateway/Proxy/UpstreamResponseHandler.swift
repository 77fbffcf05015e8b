import NIOCore

/// Cuts the backend's responses out of its byte stream and hands their parts to the client connection that holds
/// the upstream connection (same event loop). Informational (1xx) responses are not relayed. While the connection
/// idles in the pool it has no owner: anything the backend sends then is a protocol error and closes it. After a
/// `101` that accepts the request's WebSocket handshake the connection is a tunnel: every byte after the 101's
/// head goes to the owner as it comes, never parsed as HTTP again.
final class UpstreamResponseHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    var owner: ProxyHandler?
    private var reader = HTTP1MessageReader<HTTP1ResponseFramer>(request: false)
    /// How the awaited response is read.
    private var framer = HTTP1ResponseFramer()
    /// Whether a response is awaited.
    private var awaiting = false
    /// The backend switched to WebSocket.
    private var tunnel = false

    /// A request has been sent: its response is read next (`dechunk`: the client speaks HTTP/1.0, so a chunked
    /// or close-delimited body goes to it as data alone; `webSocket`: the handshake the request opened).
    func expectResponse(toHEAD: Bool, dechunk: Bool, webSocket: WebSocketUpgrade? = nil) {
        awaiting = true
        framer.toHEAD = toHEAD
        framer.dechunk = dechunk
        framer.webSocket = webSocket
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if tunnel {
            if let owner { owner.tunnelFromBackend(buffer) } else { context.close(promise: nil) }
            return
        }
        guard owner != nil, awaiting else {
            context.close(promise: nil)  // nothing was asked
            return
        }
        do throws(HTTP1.ParseError) {
            while let part = try reader.next(&buffer, framer: framer, allocator: context.channel.allocator) {
                // The owner may let the connection go while it takes a part.
                guard let owner else { break }
                switch part {
                case .head(let (head, framing)):
                    if head.status == 101 {
                        // The framer let it through: it accepts the handshake. What follows it is WebSocket.
                        tunnel = true
                        awaiting = false
                        owner.upstreamResponse(.switching(head))
                        if buffer.readableBytes > 0, let owner = self.owner { owner.tunnelFromBackend(buffer) }
                        return
                    }
                    owner.upstreamResponse(.head(head, framing))
                case .body(let slice): owner.upstreamResponse(.body(slice))
                case .end:
                    awaiting = false
                    owner.upstreamResponse(.end)
                    // Bytes behind the response arrived before any next request was sent: they answer nothing.
                    if buffer.readableBytes > 0 { context.close(promise: nil) }
                    return
                }
            }
            if buffer.readableBytes > 0 { context.close(promise: nil) }
        } catch {
            let owner = self.owner
            self.owner = nil
            owner?.upstreamProtocolError(error, channel: context.channel)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A body that runs until the backend closes ends here (with the last chunk when it went as chunks).
        if let owner {
            for part in reader.finish(allocator: context.channel.allocator) {
                switch part {
                case .head: break
                case .body(let slice): owner.upstreamResponse(.body(slice))
                case .end:
                    awaiting = false
                    owner.upstreamResponse(.end)
                }
            }
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
