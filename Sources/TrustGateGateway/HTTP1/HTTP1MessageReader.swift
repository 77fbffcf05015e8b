import NIOCore

/// Decides what a message's head means for the bytes after it: the value the reader hands on, the body's framing
/// and how its bytes go out, or nil for a head that is skipped (an interim response).
protocol HTTP1MessageFramer {
    associatedtype Message
    func frame(_ head: HTTP1.Head) throws(HTTP1.ParseError) -> (message: Message, framing: HTTP1.Framing, output: BodyReader.Output)?
}

/// Cuts HTTP/1.1 messages out of a byte stream, read by read: each message is a `.head`, its body as `.body`
/// slices (as the framer's output says), then `.end`. The one reader of the three sides that read HTTP: client
/// requests (``ProxyHandler``), backend responses (``UpstreamResponseHandler``), probe responses
/// (``ProbeResponseReader``).
///
/// It is pulled one part at a time and calls nothing back, so whoever takes a part may touch its owner (a
/// response's end hands the connection to the next request, which sets the next framer) without re-entering it.
struct HTTP1MessageReader<Framer: HTTP1MessageFramer> {
    enum Part {
        case head(Framer.Message)
        case body(ByteBuffer)
        case end
    }

    private var heads: HeadReader
    private var body: BodyReader?
    /// Body slices read and not yet taken (one read of a body yields several), and whether an end follows them.
    /// Kept as plain values, not a queue of parts: the head goes out as soon as it is parsed.
    private var slices: [ByteBuffer] = []
    private var taken = 0
    private var endReady = false

    init(request: Bool) {
        heads = HeadReader(request: request)
    }

    /// Part of a head has arrived and waits for the rest.
    var isPartialHead: Bool { heads.isPartial }

    /// The next part from what was read before and the front of `buffer` (which keeps the bytes not yet read), or
    /// nil when more bytes are needed. A parse error ends the stream: the reader is not to be used after it.
    mutating func next(
        _ buffer: inout ByteBuffer, framer: Framer, allocator: ByteBufferAllocator
    ) throws(HTTP1.ParseError) -> Part? {
        if let part = takeReady() { return part }
        while buffer.readableBytes > 0 {
            if var reader = body {
                body = nil
                let done = try reader.read(&buffer, into: &slices, allocator: allocator)
                if !done { body = reader }
                endReady = done
                if let part = takeReady() { return part }
            } else {
                guard let bytes = try heads.take(&buffer) else { return nil }
                guard let framed = try framer.frame(HTTP1.parse(bytes, request: heads.request)) else { continue }
                if framed.framing.hasBody {
                    body = BodyReader(framed.framing, output: framed.output)
                } else {
                    endReady = true
                }
                return .head(framed.message)
            }
        }
        return nil
    }

    private mutating func takeReady() -> Part? {
        if taken < slices.count {
            let slice = slices[taken]
            taken += 1
            if taken == slices.count {
                slices.removeAll(keepingCapacity: true)
                taken = 0
            }
            return .body(slice)
        }
        guard endReady else { return nil }
        endReady = false
        return .end
    }

    /// The stream closed: the end of a body that runs until the close (with the last chunk when it goes as
    /// chunks), or nothing when no such body was being read.
    mutating func finish(allocator: ByteBufferAllocator) -> [Part] {
        guard let reader = body, reader.runsUntilClose else { return [] }
        body = nil
        return (reader.finish(allocator: allocator).map { [.body($0)] } ?? []) + [.end]
    }
}

/// Request heads, validated as ``HTTP1/Request``; bodies in canonical chunked framing when chunked.
struct HTTP1RequestFramer: HTTP1MessageFramer {
    var allowEncodedSlashes = false

    func frame(_ head: HTTP1.Head) throws(HTTP1.ParseError) -> (message: HTTP1.Request, framing: HTTP1.Framing, output: BodyReader.Output)? {
        let request = try HTTP1.Request(head, allowEncodedSlashes: allowEncodedSlashes)
        return (request, request.framing, .reframe)
    }
}

/// Response heads with the framing RFC 9112 §6.3 gives them for the request they answer; interim (1xx)
/// responses skipped; `101 Switching Protocols` refused unless it accepts the request's WebSocket handshake
/// (``WebSocketUpgrade/checkSwitching(_:)``) or `allowSwitching` (a probe, which reads no further).
struct HTTP1ResponseFramer: HTTP1MessageFramer {
    /// The response answers a HEAD request (no body whatever its fields say).
    var toHEAD = false
    /// The body goes to an HTTP/1.0 client: a chunked or close-delimited one as data alone.
    var dechunk = false
    /// Relay a Content-Length body as received (else, as for a probe, as data alone).
    var relay = true
    var allowSwitching = false
    /// The WebSocket handshake the request opened, whose 101 makes the connection a tunnel.
    var webSocket: WebSocketUpgrade?

    func frame(_ head: HTTP1.Head) throws(HTTP1.ParseError) -> (message: (HTTP1.Head, HTTP1.Framing), framing: HTTP1.Framing, output: BodyReader.Output)? {
        if head.status == 101 {
            if !allowSwitching {
                guard let webSocket else { throw .malformed("101 Switching Protocols to a request that asked for none") }
                try webSocket.checkSwitching(head)
            }
            return ((head, HTTP1.Framing.none), .none, .relay)
        }
        if head.status < 200 { return nil }  // 100 Continue, 103 Early Hints: not relayed
        let framing = try HTTP1.responseFraming(head, toHEAD: toHEAD)
        let output: BodyReader.Output = !relay || dechunk ? .dechunk : framing == .untilClose ? .reframe : .relay
        return ((head, framing), framing, output)
    }
}
