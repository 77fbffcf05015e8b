import NIOCore

/// The deadlines of one client connection, as values: the handler arms one timer for `next` and, when it fires,
/// asks `expired(at:)` what ran out. Time is an input (`now`), so tests drive it by hand.
///
/// Which run when, as nginx's: waiting for a request, the keep-alive timeout (`keepalive_timeout`) or, once a
/// head has begun — and for a connection's first request from the accept — the header timeout
/// (`client_header_timeout`); from a request until its response begins, the request timeout; while the response
/// streams, the read timeout from the backend's last read (`proxy_read_timeout`); while the client takes nothing,
/// the send timeout (`send_timeout`). A WebSocket tunnel has only two: the send timeout, and its idle timeout
/// (`websocket-idle-timeout`) from the last byte either way.
struct ProxyTimeouts {
    struct Limits {
        var keepAlive: TimeAmount
        var header: TimeAmount
        var send: TimeAmount
    }

    enum Expiry: Equatable {
        /// The client took nothing for the send timeout: both connections close.
        case clientStoppedReading
        /// The backend sent nothing for the read timeout in the middle of its response: both connections close.
        case backendStalled
        /// No response began within the request timeout: 504.
        case noResponse
        /// A head begun and not finished within the header timeout: 408.
        case headIncomplete
        /// No request within the keep-alive (or, for the first, the header) timeout: the connection closes.
        case idle
        /// A tunnel carried nothing either way for its idle timeout: both connections close.
        case tunnelIdle
    }

    private(set) var waitingSince: NIODeadline?
    private(set) var headBegunAt: NIODeadline?
    /// Bytes of a head arrived since the last complete one (a timed-out head then gets 408, not a silent close).
    private(set) var receivedPartialHead = false
    private(set) var responseDeadline: NIODeadline?
    private(set) var lastUpstreamRead: NIODeadline?
    /// nil: the response has no read timeout.
    private(set) var readTimeout: TimeAmount?
    private(set) var unwritableSince: NIODeadline?
    /// In a tunnel: its last byte either way, and how long it may idle.
    private(set) var tunnelActiveAt: NIODeadline?
    private(set) var tunnelIdle = TimeAmount.hours(1)

    mutating func tunnelBegan(at now: NIODeadline, idle: TimeAmount) {
        waitingSince = nil
        headBegunAt = nil
        tunnelActiveAt = now
        tunnelIdle = idle
    }

    mutating func tunnelActivity(at now: NIODeadline) {
        tunnelActiveAt = now
    }

    /// Waiting for the next request (`first`: the connection's first, whose header timeout runs from now).
    mutating func waitForRequest(at now: NIODeadline, first: Bool) {
        waitingSince = now
        headBegunAt = first ? now : nil
    }

    /// Part of a head arrived.
    mutating func headBegan(at now: NIODeadline) {
        if headBegunAt == nil { headBegunAt = now }
        receivedPartialHead = true
    }

    /// A complete head arrived; its response is due within `requestTimeout` when it goes to a backend.
    mutating func requestBegan() {
        waitingSince = nil
        headBegunAt = nil
        receivedPartialHead = false
    }

    mutating func awaitResponse(at now: NIODeadline, within requestTimeout: TimeAmount) {
        responseDeadline = now + requestTimeout
    }

    mutating func responseBegan(at now: NIODeadline, readTimeout: TimeAmount?) {
        responseDeadline = nil
        lastUpstreamRead = now
        self.readTimeout = readTimeout
    }

    mutating func upstreamRead(at now: NIODeadline) {
        if lastUpstreamRead != nil { lastUpstreamRead = now }
    }

    mutating func responseEnded() {
        responseDeadline = nil
        lastUpstreamRead = nil
    }

    /// The client stopped (nil: resumed) taking what is written to it.
    mutating func clientWritable(_ writable: Bool, at now: NIODeadline) {
        if writable {
            unwritableSince = nil
        } else if unwritableSince == nil {
            unwritableSince = now
        }
    }

    /// The soonest deadline that runs in this state (`responseStarted`: the response streams to the client;
    /// `backendPaused`: the backend is not read because the client is slow, so its silence is ours).
    func next(_ limits: Limits, responsePending: Bool, responseStarted: Bool, backendPaused: Bool) -> NIODeadline? {
        var soonest: NIODeadline?
        func consider(_ deadline: NIODeadline?) {
            if let deadline { soonest = min(soonest ?? deadline, deadline) }
        }
        consider(unwritableSince.map { $0 + limits.send })
        if let tunnelActiveAt {
            consider(tunnelActiveAt + tunnelIdle)
            return soonest
        }
        if responseStarted, !backendPaused, let readTimeout { consider(lastUpstreamRead.map { $0 + readTimeout }) }
        if !responseStarted { consider(responseDeadline) }
        if !responsePending, let since = waitingSince {
            consider(headBegunAt.map { $0 + limits.header } ?? since + limits.keepAlive)
        }
        return soonest
    }

    /// What ran out at `now`, the most severe first, or nil (then re-arm for `next`).
    mutating func expired(
        at now: NIODeadline, _ limits: Limits, responsePending: Bool, responseStarted: Bool, backendPaused: Bool
    ) -> Expiry? {
        if let since = unwritableSince, since + limits.send <= now { return .clientStoppedReading }
        if let tunnelActiveAt {
            return tunnelActiveAt + tunnelIdle <= now ? .tunnelIdle : nil
        }
        if responseStarted, !backendPaused, let last = lastUpstreamRead, let readTimeout, last + readTimeout <= now {
            return .backendStalled
        }
        if !responseStarted, let deadline = responseDeadline, deadline <= now {
            responseDeadline = nil
            return .noResponse
        }
        if !responsePending, let since = waitingSince {
            let deadline = headBegunAt.map { $0 + limits.header } ?? since + limits.keepAlive
            if deadline <= now {
                waitingSince = nil
                return receivedPartialHead ? .headIncomplete : .idle
            }
        }
        return nil
    }
}

extension ProxyTimeouts.Limits {
    /// The client timeouts `router`'s configuration sets.
    init(_ router: Router) {
        self.init(keepAlive: router.keepAliveTimeout, header: router.headerTimeout, send: router.sendTimeout)
    }
}
