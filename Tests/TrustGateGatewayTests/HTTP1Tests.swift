import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("HTTP/1.1 on bytes: heads, framing, hop-by-hop fields")
struct HTTP1Tests: HTTP1TestText {
    @Test("A request head: method, target, version, fields classified by name without case")
    func requestHead() throws {
        let parsed = try head("GET /a?b=1 HTTP/1.1\r\nHost: a.test\r\nX-Forwarded-FOR: 10.0.0.1\r\nAccept:  */* \r\n\r\n")
        #expect(parsed.method == "GET" && parsed.target == "/a?b=1" && parsed.minorVersion == 1)
        #expect(parsed.fields.map(\.kind) == [.host, .xForwardedFor, .other])
        #expect(parsed.values(.other) == ["*/*"])
        #expect(parsed.isKeepAlive && !parsed.isHEAD)
        #expect(try HTTP1.requestFraming(parsed) == .none)
        let old = try head("HEAD / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        #expect(old.isHEAD && old.minorVersion == 0 && old.isKeepAlive)
        #expect(try !head("GET / HTTP/1.0\r\n\r\n").isKeepAlive)
        #expect(try !head("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n").isKeepAlive)
    }

    @Test("Malformed requests are refused with the status nginx or HAProxy gives", arguments: [
        ("NOT HTTP AT ALL\r\n\r\n", 400), ("GET /\r\n\r\n", 400), ("GET / HTTP/2.0\r\n\r\n", 505),
        ("GET / HTTP/1.1 \r\n\r\n", 400), ("G(T / HTTP/1.1\r\n\r\n", 400), ("get / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400), ("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400), ("GET / HTTP/1.1\r\nX: a\u{01}b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{00}b\r\n\r\n", 400),
        // Line endings other than CRLF.
        ("GET / HTTP/1.1\nHost: a\n\n", 400), ("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400),
        // Transfer-Encoding: exactly chunked, ASCII case-insensitive only.
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chun\u{212A}ed\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        // Content-Length: 1*DIGIT, one value.
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,,5\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 1\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
        // Host: exactly one, valid.
        ("GET / HTTP/1.1\r\n\r\n", 400), ("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400), ("GET / HTTP/1.1\r\nHost: a?b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n", 400), ("GET / HTTP/1.1\r\nHost: \u{E9}.test\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400), ("GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400), ("GET / HTTP/1.1\r\nHost:\r\n\r\n", 400),
        ("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        // Targets and paths.
        ("GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400), ("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400), ("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400), ("GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET /a/%2e%2e/b HTTP/1.1\r\nHost: a\r\n\r\n", 400), ("GET /a/.%2E/b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET /a%2Fb HTTP/1.1\r\nHost: a\r\n\r\n", 400), ("GET /a%5cb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET /../etc HTTP/1.1\r\nHost: a\r\n\r\n", 400), ("GET /a/../../b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400), ("GET /a%00 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET /a\\b HTTP/1.1\r\nHost: a\r\n\r\n", 400), ("GET /a|b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET /\u{E9} HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ])
    func refusals(text: String, status: Int) {
        #expect(refusal(text)?.status.code == status, "\(text.debugDescription)")
    }

    @Test("Accepted framing: lengths repeated or listed collapse to one; Chunked in any ASCII case")
    func acceptedFraming() throws {
        #expect(try request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\r\n\r\n").framing == .length(7))
        #expect(try request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\ncontent-length:  7 \r\n\r\n").framing
                == .length(7))
        #expect(try request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").framing == .length(0))
        #expect(try request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD \r\n\r\n").framing == .chunked)
        #expect(try request("GET / HTTP/1.0\r\n\r\n").host == "")
    }

    @Test("Response framing: HEAD, 204 and 304 have no body; chunked exactly; a length; else until the backend closes")
    func responseFraming() throws {
        func framing(_ text: String, toHEAD: Bool = false) throws -> HTTP1.Framing {
            try HTTP1.responseFraming(try head(text, request: false), toHEAD: toHEAD)
        }
        #expect(try framing("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n") == .length(10))
        #expect(try framing("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", toHEAD: true) == .none)
        #expect(try framing("HTTP/1.1 204 No Content\r\n\r\n") == .none)
        #expect(try framing("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n") == .none)
        #expect(try framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") == .chunked)
        #expect(try framing("HTTP/1.0 200 ok\r\n\r\n") == .untilClose)
        #expect(try framing("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n") == .length(0))
        let parsed = try head("HTTP/1.1 404 Not Found\r\n\r\n", request: false)
        #expect(parsed.status == 404 && parsed.string(parsed.second) == "Not Found")
        for bad in ["HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                    "HTTP/1.1 200 OK\nContent-Length: 5\n\n", "HTTP/1.1 099 Odd\r\n\r\n"] {
            #expect(refusal(bad, request: false) != nil, "\(bad.debugDescription)")
        }
    }

    @Test("Hop-by-hop fields and those Connection names are dropped; the rest are copied in order")
    func writeFields() throws {
        let parsed = try head("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: 5\r\n"
            + "x-private: secret\r\nTE: trailers\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\nAccept: */*\r\n"
            + "Proxy-Authorization: Basic x\r\n\r\n")
        var buffer = ByteBuffer()
        parsed.writeFields(into: &buffer) { $0.kind.isHopByHop }
        #expect(String(buffer: buffer) == "Host: a.test\r\nTransfer-Encoding: chunked\r\nAccept: */*\r\n")
    }
}
