import NIOCore

/// The logic of one client connection as a value: ``ProxyHandler`` turns NIO events into these inputs and carries
/// out the actions they return (as NIOHTTP1's `HTTPServerPipelineHandler` and async-http-client's
/// `HTTP1ConnectionStateMachine` are built). The connection reads one request at a time: the parts of requests
/// pipelined behind it wait in ``PipelineQueue`` until its response has been written.
///
/// A WebSocket handshake (``WebSocketUpgrade``) is the last request read as HTTP: what the client sends after it
/// is held as raw bytes until the backend answers. A `101` that accepts the handshake makes the connection a
/// tunnel (bytes relayed both ways until either side closes); any other answer closes the client connection after
/// it, the held bytes never parsed, so a refused upgrade cannot smuggle a request behind it.
struct ProxyConnectionStateMachine {
    /// Where the request in progress stands with the backend.
    enum Phase: Equatable {
        /// No request is being sent (none arrived, or the one in progress has been sent whole).
        case idle
        /// The request head (first) and body bytes wait for a new upstream connection.
        case connecting(buffered: [ByteBuffer], bytes: Int)
        /// The request goes to the upstream connection as it arrives.
        case exchanging
        /// The gateway answered the request itself: the rest of it is read and dropped.
        case answering
        /// The backend switched to WebSocket: bytes go both ways as they come, until either side closes.
        case tunnel
    }

    enum BodyAction: Equatable {
        case forward
        /// Held until the connection is made; `pause`: stop reading the client meanwhile (over 64 KiB held).
        case buffered(pause: Bool)
        case drop
    }

    enum EndAction: Equatable {
        case none
        case flushUpstream
        case closeClient
    }

    enum RefuseAction: Equatable {
        /// Answer with the parser's status (no response under way), then close.
        case answer
        /// A response is under way: cut it short by closing.
        case close
    }

    /// After the response's last byte: what becomes of each connection.
    struct ResponseEnd: Equatable {
        var reuseUpstream: Bool
        var keepClient: Bool
    }

    enum LostAction: Equatable {
        /// Nothing depends on that connection any more.
        case none
        /// The response was cut short: the client must not take it as whole.
        case closeClient
        /// A pooled connection the backend closed while idle: the request goes again on a new one.
        case retry
        /// Answer 502.
        case answer
        /// A tunnel's backend closed: the client connection closes after what was written to it.
        case endTunnel
    }

    private(set) var phase = Phase.idle
    private(set) var timeouts = ProxyTimeouts()
    private(set) var pipeline = PipelineQueue()
    private(set) var exchangeCount = 0
    /// The client connection stays open after the response in progress.
    private(set) var keepAlive = true
    /// The request in progress has arrived whole (true between requests).
    private(set) var requestEnded = true
    private(set) var requestHasBody = false
    private(set) var requestMinorVersion = 1
    /// From a request's head until its response has been written in full.
    private(set) var responsePending = false
    /// The backend's response head arrived and its end has not.
    private(set) var responseStarted = false
    /// The backend keeps its connection open after this response.
    private(set) var upstreamKeepAlive = true
    private(set) var draining = false
    /// A request the parser refused: nothing more is read.
    private(set) var refused = false
    /// The parser has read a WebSocket handshake whole: the client's next bytes are not parsed but held.
    private(set) var holdingRaw = false
    /// The parser is inside a WebSocket handshake (between its head and its end).
    private var readingUpgrade = false

    // MARK: The client's requests

    /// Waiting for the next request from `now`.
    mutating func waitForRequest(at now: NIODeadline) {
        timeouts.waitForRequest(at: now, first: exchangeCount == 0)
    }

    mutating func headBegan(at now: NIODeadline) {
        timeouts.headBegan(at: now)
    }

    /// Whether `part` is handled now (else it waits in the pipeline; `pause`: stop reading the client).
    mutating func received(_ part: ProxyHandler.RequestPart) -> (handleNow: Bool, pause: Bool) {
        switch part {
        case .head(let request): readingUpgrade = request.webSocket != nil
        case .body: break
        case .end:
            holdingRaw = readingUpgrade
            readingUpgrade = false
        }
        guard (responsePending && requestEnded) || !pipeline.isEmpty else { return (true, false) }
        pipeline.append(part)
        return (false, pipeline.isOverLimit)
    }

    /// The next pipelined part that can be handled now, once a response has been written.
    mutating func nextPipelined() -> ProxyHandler.RequestPart? {
        guard !(responsePending && requestEnded) else { return nil }
        return pipeline.popFirst()
    }

    mutating func requestHead(_ request: HTTP1.Request) {
        exchangeCount += 1
        timeouts.requestBegan()
        responsePending = true
        requestMinorVersion = request.head.minorVersion
        // After a WebSocket handshake the connection is either a tunnel or closed: never another request.
        keepAlive = request.head.isKeepAlive && !draining && request.webSocket == nil
        requestEnded = false
        requestHasBody = request.framing.hasBody
        responseStarted = false
    }

    mutating func requestBody(_ buffer: ByteBuffer) -> BodyAction {
        switch phase {
        case .connecting(var buffered, var bytes):
            buffered.append(buffer)
            bytes += buffer.readableBytes
            phase = .connecting(buffered: buffered, bytes: bytes)
            // Hold the client while the backend is not there yet: at most ~64 KiB waits in memory.
            return .buffered(pause: bytes > 65_536)
        case .exchanging:
            return .forward
        case .idle, .answering, .tunnel:
            return .drop
        }
    }

    mutating func requestEnd() -> EndAction {
        requestEnded = true
        switch phase {
        case .answering:
            phase = .idle
            return draining ? .closeClient : .none
        case .exchanging:
            return .flushUpstream
        case .connecting, .idle, .tunnel:
            return .none
        }
    }

    /// The parser refused what the client sent: nothing more is read, and what waits in the pipeline is dropped.
    mutating func refuse() -> RefuseAction {
        refused = true
        pipeline.removeAll()
        let requestBeingForwarded: Bool
        switch phase {
        case .connecting, .exchanging: requestBeingForwarded = !requestEnded
        case .idle, .answering, .tunnel: requestBeingForwarded = false
        }
        guard !responseStarted, !responsePending || phase == .answering || requestBeingForwarded else { return .close }
        // A body refused part-way: what the backend got of the request is cut off with its connection; the client
        // is answered and closed.
        timeouts.responseEnded()
        keepAlive = false
        requestEnded = false
        phase = .answering
        return .answer
    }

    /// A head begun and not finished within the header timeout is answered 408, and the connection closes.
    mutating func headTimedOut() {
        keepAlive = false
        refused = true
    }

    /// The gateway is stopping: whether to close now (no request in progress), else after the response in flight.
    mutating func drain() -> Bool {
        draining = true
        keepAlive = false
        return phase == .idle && requestEnded && !responseStarted
    }

    // MARK: The exchange with the backend

    /// The gateway answers the request itself (no route, a redirect, no member available).
    mutating func answerItself() {
        phase = .answering
    }

    /// The request goes to a backend and must be answered within `requestTimeout`.
    mutating func awaitResponse(at now: NIODeadline, within requestTimeout: TimeAmount) {
        timeouts.awaitResponse(at: now, within: requestTimeout)
    }

    /// The request goes on a pooled connection at once.
    mutating func sendOnPooledConnection() {
        phase = .exchanging
        upstreamKeepAlive = true
    }

    /// The request waits for a new connection (`head` first, then what arrived of the body).
    mutating func connect(head: ByteBuffer, buffered: [ByteBuffer], bytes: Int) {
        phase = .connecting(buffered: [head] + buffered, bytes: bytes)
    }

    /// The new connection is made: what was held, to be written to it; nil when no connection was awaited.
    mutating func connected() -> [ByteBuffer]? {
        guard case .connecting(let buffered, _) = phase else { return nil }
        phase = .exchanging
        upstreamKeepAlive = true
        return buffered
    }

    /// What was held for the connection that failed, without its head (another member gets its own).
    var heldBody: (parts: [ByteBuffer], bytes: Int) {
        guard case .connecting(let buffered, let bytes) = phase else { return ([], 0) }
        return (Array(buffered.dropFirst()), bytes)
    }

    /// No backend will answer: the gateway does (the rest of the request, if any, is dropped).
    mutating func failExchange() {
        timeouts.responseEnded()
        phase = requestEnded ? .idle : .answering
    }

    mutating func responseHead(_ head: HTTP1.Head, framing: HTTP1.Framing, at now: NIODeadline, readTimeout: TimeAmount?) {
        responseStarted = true
        timeouts.responseBegan(at: now, readTimeout: readTimeout)
        upstreamKeepAlive = head.isKeepAlive && framing != .untilClose
        // An HTTP/1.1 client gets a chunked or close-delimited body in canonical chunks; an HTTP/1.0 client gets
        // the data alone, with no length it could see: its connection closes after it.
        if requestMinorVersion == 0, framing == .chunked || framing == .untilClose { keepAlive = false }
    }

    /// The backend accepted the WebSocket handshake: from `now` the connection is a tunnel, closed after `idle`
    /// without a byte either way.
    mutating func switchProtocols(at now: NIODeadline, idle: TimeAmount) {
        phase = .tunnel
        holdingRaw = false
        responseStarted = false
        responsePending = false
        timeouts.responseEnded()
        timeouts.tunnelBegan(at: now, idle: idle)
    }

    /// Bytes went through the tunnel, one way or the other.
    mutating func tunnelActivity(at now: NIODeadline) {
        timeouts.tunnelActivity(at: now)
    }

    mutating func responseBody(at now: NIODeadline) {
        timeouts.upstreamRead(at: now)
    }

    mutating func responseEnd() -> ResponseEnd {
        responseStarted = false
        timeouts.responseEnded()
        let reuse: Bool
        if requestEnded {
            phase = .idle
            reuse = upstreamKeepAlive && !draining
        } else {
            // The backend answered before the request ended: its connection cannot be reused, and the rest of
            // the request is dropped with the client connection.
            phase = .answering
            keepAlive = false
            reuse = false
        }
        return ResponseEnd(reuseUpstream: reuse, keepClient: keepAlive)
    }

    /// The response has been written in full: the next request may go.
    mutating func responseWritten(at now: NIODeadline) {
        responsePending = false
        waitForRequest(at: now)
    }

    /// Whether the gateway's own answer closes the connection: when the client asked for that or its request
    /// body has not all arrived (a request without a body keeps the connection).
    mutating func answerCloses() -> Bool {
        let closes = !keepAlive || (!requestEnded && requestHasBody)
        if closes { responsePending = false }
        return closes
    }

    /// The backend sent something that is not a valid response (`headSent`: part of the response went to the
    /// client): true when the client must be closed, else it is answered 502.
    mutating func upstreamProtocolError(headSent: Bool) -> Bool {
        if responseStarted, headSent { return true }
        responseStarted = false
        timeouts.responseEnded()
        return false
    }

    /// The upstream connection closed or failed before the response ended.
    mutating func upstreamLost(canRetry: Bool) -> LostAction {
        if phase == .tunnel { return .endTunnel }
        guard phase == .exchanging else { return .none }
        if responseStarted {
            timeouts.responseEnded()
            return .closeClient
        }
        return canRetry ? .retry : .answer
    }

    // MARK: Time

    mutating func clientWritable(_ writable: Bool, at now: NIODeadline) {
        timeouts.clientWritable(writable, at: now)
    }

    func nextDeadline(_ limits: ProxyTimeouts.Limits, backendPaused: Bool) -> NIODeadline? {
        timeouts.next(limits, responsePending: responsePending, responseStarted: responseStarted, backendPaused: backendPaused)
    }

    mutating func expired(at now: NIODeadline, _ limits: ProxyTimeouts.Limits, backendPaused: Bool) -> ProxyTimeouts.Expiry? {
        timeouts.expired(
            at: now, limits, responsePending: responsePending, responseStarted: responseStarted, backendPaused: backendPaused
        )
    }
}
