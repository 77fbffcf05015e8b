import NIOCore
import Testing
@testable import TrustGateGateway

/// The client connection's logic without a channel: every input a value, every decision an action.
@Suite("ProxyConnectionStateMachine: pipelining, refusals, early answers, lost backends, draining")
struct ProxyConnectionStateMachineTests {
    static func request(_ text: String) throws -> HTTP1.Request {
        try HTTP1.Request(HTTP1.parse(Array(text.utf8), request: true))
    }

    static let get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    static let post = "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
    static let now = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// A machine with `text`'s request handled and sent on a new connection.
    static func exchanging(_ text: String) throws -> ProxyConnectionStateMachine {
        var machine = ProxyConnectionStateMachine()
        let head = try request(text)
        let result1 = machine.received(.head(head))
        #expect(result1 == (true, false))
        machine.requestHead(head)
        machine.connect(head: ByteBuffer(string: "head"), buffered: [], bytes: 0)
        let result2 = machine.connected()
        #expect(result2 == [ByteBuffer(string: "head")])
        return machine
    }

    @Test("Requests behind one in progress wait until its response is written, then go one at a time")
    func pipelining() throws {
        var machine = try Self.exchanging(Self.get)
        let result3 = machine.received(.end)
        #expect(result3 == (true, false))
        let result4 = machine.requestEnd()
        #expect(result4 == .flushUpstream)
        // The next request arrives while the first is answered: it waits.
        let second = try Self.request(Self.get)
        let result5 = machine.received(.head(second))
        #expect(result5 == (false, false))
        let result6 = machine.received(.end)
        #expect(result6 == (false, false))
        let result7 = machine.nextPipelined()
        #expect(result7 == nil)
        machine.responseHead(try HTTP1.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8), request: false),
                                 framing: .none, at: Self.now, readTimeout: .seconds(60))
        let result8 = machine.responseEnd()
        #expect(result8 == .init(reuseUpstream: true, keepClient: true))
        let result9 = machine.nextPipelined()
        #expect(result9 == nil, "still pending until written")
        machine.responseWritten(at: Self.now)
        guard case .head = machine.nextPipelined() else { Issue.record("the second head goes"); return }
        machine.requestHead(second)
        guard case .end = machine.nextPipelined() else { Issue.record("its end goes"); return }
        _ = machine.requestEnd()
        let result10 = machine.nextPipelined()
        #expect(result10 == nil)
        #expect(machine.pipeline.isEmpty)
    }

    @Test("More than 64 KiB pipelined pauses reading the client")
    func pipelineLimit() throws {
        var machine = try Self.exchanging(Self.get)
        _ = machine.requestEnd()
        let chunk = ByteBuffer(repeating: 0x61, count: 16_384)
        // 4 × 16 KiB is the limit itself; the fifth is over it.
        let pauses = (0..<5).map { _ in machine.received(.body(chunk)).pause }
        #expect(pauses == [false, false, false, false, true])
    }

    @Test("A refusal before a response began is answered; after, the connection is cut")
    func refusals() throws {
        var idle = ProxyConnectionStateMachine()
        let result11 = idle.refuse()
        #expect(result11 == .answer)
        #expect(idle.refused)
        let result12 = idle.answerCloses()
        #expect(result12, "a refused connection always closes")

        // A body refused part-way while it is forwarded: answered, and the rest dropped.
        var forwarding = try Self.exchanging(Self.post)
        let result13 = forwarding.refuse()
        #expect(result13 == .answer)
        #expect(forwarding.phase == .answering)

        // The response is streaming: the client must not take a cut-short response as whole.
        var streaming = try Self.exchanging(Self.post)
        streaming.responseHead(try HTTP1.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n".utf8), request: false),
                                   framing: .length(9), at: Self.now, readTimeout: .seconds(60))
        let result14 = streaming.refuse()
        #expect(result14 == .close)
    }

    @Test("A response before the request ended: the upstream connection is not reused and the client closes")
    func earlyResponse() throws {
        var machine = try Self.exchanging(Self.post)
        let result15 = machine.requestBody(ByteBuffer(string: "he"))
        #expect(result15 == .forward)
        machine.responseHead(try HTTP1.parse(Array("HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n".utf8), request: false),
                                 framing: .none, at: Self.now, readTimeout: .seconds(60))
        let result16 = machine.responseEnd()
        #expect(result16 == .init(reuseUpstream: false, keepClient: false))
        let result17 = machine.requestBody(ByteBuffer(string: "llo"))
        #expect(result17 == .drop)
    }

    @Test("Body bytes wait for a new connection, pausing the client past 64 KiB; a failover gets them without the head")
    func connecting() throws {
        var machine = ProxyConnectionStateMachine()
        machine.requestHead(try Self.request(Self.post))
        machine.connect(head: ByteBuffer(string: "H"), buffered: [], bytes: 0)
        let result18 = machine.requestBody(ByteBuffer(repeating: 1, count: 40_000))
        #expect(result18 == .buffered(pause: false))
        let result19 = machine.requestBody(ByteBuffer(repeating: 2, count: 40_000))
        #expect(result19 == .buffered(pause: true))
        #expect(machine.heldBody.parts.map(\.readableBytes) == [40_000, 40_000])
        #expect(machine.heldBody.bytes == 80_000)
        let result20 = machine.connected()
        #expect(result20?.count == 3)
        let result21 = machine.connected()
        #expect(result21 == nil, "only one connection is awaited")
    }

    @Test("An upstream connection lost: nothing, a retry, a 502, or a cut-short response")
    func upstreamLost() throws {
        var waiting = ProxyConnectionStateMachine()
        let result22 = waiting.upstreamLost(canRetry: true)
        #expect(result22 == .none)
        var sent = try Self.exchanging(Self.get)
        let result23 = sent.upstreamLost(canRetry: true)
        #expect(result23 == .retry)
        let result24 = sent.upstreamLost(canRetry: false)
        #expect(result24 == .answer)
        sent.responseHead(try HTTP1.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n".utf8), request: false),
                              framing: .length(9), at: Self.now, readTimeout: .seconds(60))
        let result25 = sent.upstreamLost(canRetry: true)
        #expect(result25 == .closeClient)
    }

    @Test("An invalid response: 502 while nothing of it reached the client, else a close")
    func invalidResponse() throws {
        var machine = try Self.exchanging(Self.get)
        let result26 = machine.upstreamProtocolError(headSent: true)
        #expect(result26 == false)
        machine.responseHead(try HTTP1.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n".utf8), request: false),
                                 framing: .length(9), at: Self.now, readTimeout: .seconds(60))
        let result27 = machine.upstreamProtocolError(headSent: false)
        #expect(result27 == false, "the head was still held")
        var streaming = try Self.exchanging(Self.get)
        streaming.responseHead(try HTTP1.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n".utf8), request: false),
                               framing: .length(9), at: Self.now, readTimeout: .seconds(60))
        let result28 = streaming.upstreamProtocolError(headSent: true)
        #expect(result28 == true)
    }

    @Test("Draining closes an idle connection now and a busy one after its response; an HTTP/1.0 chunked response closes")
    func drainingAndVersions() throws {
        var idle = ProxyConnectionStateMachine()
        let result29 = idle.drain()
        #expect(result29)
        var busy = try Self.exchanging(Self.get)
        let result30 = busy.drain()
        #expect(!result30)
        _ = busy.requestEnd()
        busy.responseHead(try HTTP1.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8), request: false),
                              framing: .none, at: Self.now, readTimeout: nil)
        let result31 = busy.responseEnd()
        #expect(result31 == .init(reuseUpstream: false, keepClient: false))

        var old = try Self.exchanging("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        _ = old.requestEnd()
        #expect(old.keepAlive)
        old.responseHead(try HTTP1.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8), request: false),
                             framing: .chunked, at: Self.now, readTimeout: nil)
        let result32 = old.responseEnd()
        #expect(result32 == .init(reuseUpstream: true, keepClient: false))
    }

    @Test("The gateway's own answer keeps the connection only when the request has no body left to arrive")
    func ownAnswers() throws {
        var get = ProxyConnectionStateMachine()
        get.requestHead(try Self.request(Self.get))
        get.answerItself()
        let result33 = get.answerCloses()
        #expect(!result33)
        var post = ProxyConnectionStateMachine()
        post.requestHead(try Self.request(Self.post))
        post.answerItself()
        let result34 = post.answerCloses()
        #expect(result34)
        var close = ProxyConnectionStateMachine()
        close.requestHead(try Self.request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
        let result35 = close.answerCloses()
        #expect(result35)
    }

    @Test("A WebSocket handshake is the last request parsed: what follows is held; a 101 makes a tunnel, anything else a close")
    func webSocket() throws {
        let text = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        let handshake = try Self.request(text)
        var machine = try Self.exchanging(Self.get)
        _ = machine.received(.end)
        #expect(!machine.holdingRaw, "a plain request leaves the parser on")
        _ = machine.requestEnd()
        // Pipelined behind a plain request: it waits, but the parser stops after it all the same.
        let waiting = machine.received(.head(handshake))
        #expect(waiting == (false, false) && !machine.holdingRaw)
        _ = machine.received(.end)
        #expect(machine.holdingRaw)

        var refused = try Self.exchanging(text)
        #expect(!refused.keepAlive, "after a handshake: a tunnel or a close, never another request")
        _ = refused.received(.end)
        _ = refused.requestEnd()
        refused.responseHead(try HTTP1.parse(Array("HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n".utf8), request: false),
                             framing: .none, at: Self.now, readTimeout: nil)
        let end = refused.responseEnd()
        #expect(end == .init(reuseUpstream: true, keepClient: false))

        var tunnel = try Self.exchanging(text)
        _ = tunnel.received(.end)
        _ = tunnel.requestEnd()
        tunnel.switchProtocols(at: Self.now, idle: .seconds(10))
        #expect(tunnel.phase == .tunnel && !tunnel.holdingRaw && !tunnel.responsePending)
        let limits = ProxyTimeouts.Limits(keepAlive: .seconds(75), header: .seconds(60), send: .seconds(60))
        #expect(tunnel.nextDeadline(limits, backendPaused: false) == Self.now + .seconds(10))
        tunnel.tunnelActivity(at: Self.now + .seconds(5))
        let early = tunnel.expired(at: Self.now + .seconds(14), limits, backendPaused: true)
        #expect(early == nil)
        let idle = tunnel.expired(at: Self.now + .seconds(15), limits, backendPaused: true)
        #expect(idle == .tunnelIdle)
        tunnel.clientWritable(false, at: Self.now + .seconds(6))
        #expect(tunnel.nextDeadline(limits, backendPaused: true) == Self.now + .seconds(15))
        let body = tunnel.requestBody(ByteBuffer(string: "x"))
        #expect(body == .drop)
        let closesNow = tunnel.drain()
        #expect(!closesNow, "an open tunnel is left to the drain timeout")
        let lost = tunnel.upstreamLost(canRetry: true)
        #expect(lost == .endTunnel, "never retried: the backend took the handshake")
    }
}

