import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("HTTP/1.1 on bytes: heads, framing, hop-by-hop fields")
struct HTTP1Tests {
    private func head(_ text: String, request: Bool = true) throws(HTTP1.ParseError) -> HTTP1.Head {
        try HTTP1.parse(Array(text.utf8), request: request)
    }

    private func request(_ text: String, allowEncodedSlashes: Bool = false) throws(HTTP1.ParseError) -> HTTP1.Request {
        try HTTP1.Request(head(text), allowEncodedSlashes: allowEncodedSlashes)
    }

    private func refusal(_ text: String, request isRequest: Bool = true) -> HTTP1.ParseError? {
        do {
            if isRequest {
                _ = try request(text)
            } else {
                _ = try HTTP1.responseFraming(try head(text, request: false), toHEAD: false)
            }
            return nil
        } catch {
            return error
        }
    }

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

    @Test("Targets are normalized once: routed and forwarded the same; absolute-form gives the host")
    func targets() throws {
        func forwarded(_ target: String, allow: Bool = false) throws -> String {
            try request("GET \(target) HTTP/1.1\r\nHost: a.test\r\n\r\n", allowEncodedSlashes: allow).target.originForm
        }
        #expect(try forwarded("/images/../admin") == "/admin")
        #expect(try forwarded("/images/./a/../b") == "/images/b")
        #expect(try forwarded("//a///b/") == "/a/b/")
        #expect(try forwarded("/a/.") == "/a/")
        #expect(try forwarded("/a/..") == "/")
        #expect(try forwarded("/") == "/")
        #expect(try forwarded("/%41%7e%2D/%3f?x=%2F/../&y") == "/A~-/%3F?x=%2F/../&y")
        #expect(try forwarded("/a%2fb", allow: true) == "/a%2Fb")
        let absolute = try request("GET http://Internal.Example:8080/x/../y?q HTTP/1.1\r\nHost: a.test\r\n\r\n")
        #expect(absolute.host == "Internal.Example:8080" && absolute.target.originForm == "/y?q")
        #expect(try request("GET https://b.test HTTP/1.1\r\nHost: b.test\r\n\r\n").target.originForm == "/")
        #expect(try request("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").target.originForm == "*")
        #expect(try request("GET / HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n").host == "[::1]:8443")
    }

    @Test("Connection never removes framing or routing fields; its other tokens do, linearly and within a limit")
    func connectionTokens() throws {
        let parsed = try head("POST / HTTP/1.1\r\nHost: a\r\nConnection: Content-Length, HOST, transfer-encoding, X-A\r\n"
            + "Content-Length: 3\r\nX-A: 1\r\nx-b: 2\r\n\r\n")
        #expect(parsed.connection.nominated == [Array("x-a".utf8)])
        #expect(try HTTP1.requestFraming(parsed) == .length(3))
        var buffer = ByteBuffer()
        parsed.writeFields(into: &buffer) { $0.kind != .other }
        #expect(String(buffer: buffer) == "x-b: 2\r\n")
        let many = (0..<ConnectionOptions.tokenLimit + 1).map { "t\($0)" }.joined(separator: ", ")
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\nConnection: \(many)\r\n\r\n")?.status.code == 400)
        let fields = (0..<HTTP1.fieldLimit + 1).map { "X-\($0): v\r\n" }.joined()
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\n\(fields)\r\n")?.status.code == 431)
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

    @Test("Heads split across reads, with empty lines before them and the next message behind them")
    func headReader() throws {
        var reader = HeadReader(request: true)
        let text = "\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\nGET /y"
        var taken: [[UInt8]] = []
        for byte in text.utf8 {
            var buffer = ByteBuffer(bytes: [byte])
            if let head = try reader.take(&buffer) { taken.append(head) }
            #expect(buffer.readableBytes == 0)
        }
        #expect(taken.map { String(decoding: $0, as: UTF8.self) } == ["GET /x HTTP/1.1\r\nHost: a\r\n\r\n"])
        var oversized = ByteBuffer(string: "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: HTTP1.headLimit))
        var fresh = HeadReader(request: true)
        #expect(throws: HTTP1.ParseError.headTooLarge) { try fresh.take(&oversized) }
        // What cannot begin a head is refused before its end: a TLS ClientHello, a response that is not HTTP.
        var hello = ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        var requests = HeadReader(request: true)
        #expect(throws: HTTP1.ParseError.self) { try requests.take(&hello) }
        var notHTTP = ByteBuffer(string: "SSH-2.0-OpenSSH")
        var responses = HeadReader(request: false)
        #expect(throws: HTTP1.ParseError.self) { try responses.take(&notHTTP) }
        var partial = ByteBuffer(string: "HTT")
        #expect(try responses.take(&partial) == nil)
    }

    /// Runs `bytes` through a reader in pieces of `split`; what it sent on, whether it ended, what was left.
    private func run(_ bytes: [UInt8], _ framing: HTTP1.Framing, _ output: BodyReader.Output, split: Int) throws
        -> (sent: String, done: Bool, rest: String)
    {
        var reader = BodyReader(framing, output: output)
        var sent = ByteBuffer()
        var rest = ByteBuffer()
        var done = false
        var offset = 0
        while offset < bytes.count {
            var buffer = ByteBuffer(bytes: bytes[offset..<min(offset + split, bytes.count)])
            offset += split
            if done {
                rest.writeBuffer(&buffer)
                continue
            }
            var slices: [ByteBuffer] = []
            done = try reader.read(&buffer, into: &slices)
            for var slice in slices { sent.writeBuffer(&slice) }
            rest.writeBuffer(&buffer)
        }
        return (String(buffer: sent), done, String(buffer: rest))
    }

    @Test("A chunked body split anywhere: re-framed canonically (no extensions, trailers that may be trailers) or as data alone")
    func chunked() throws {
        let body = "5;ext=1;q=\"a \\\"b\\\"\"\r\nhello\r\nA ; x\r\n0123456789\r\n0\r\nX-Checksum: x\r\nContent-Length: 9\r\n\r\n"
        let next = "GET /next HTTP/1.1\r\n\r\n"
        let bytes = Array((body + next).utf8)
        for split in [1, 2, 3, 7, 64, 4096] {
            let dechunked = try run(bytes, .chunked, .dechunk, split: split)
            #expect(dechunked.done && dechunked.sent == "hello0123456789" && dechunked.rest == next, "split \(split)")
            let reframed = try run(bytes, .chunked, .reframe, split: split)
            #expect(reframed.done && reframed.rest == next, "split \(split)")
            #expect(!reframed.sent.contains(";") && reframed.sent.hasSuffix("0\r\nX-Checksum: x\r\n\r\n"), "split \(split)")
            // What was sent is itself strict chunked framing of the same data.
            let again = try run(Array(reframed.sent.utf8), .chunked, .dechunk, split: 4096)
            #expect(again.done && again.sent == "hello0123456789" && again.rest.isEmpty, "split \(split)")
        }
        #expect(try run(bytes, .chunked, .reframe, split: 4096).sent
            == "5\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Checksum: x\r\n\r\n")
    }

    @Test("Lenient chunked framing is refused", arguments: [
        "x\r\n", "5\r\nhelloX", "10000000000000000\r\n", "5\r\nhello\r\n0\r\nX\r\n\rY",
        // bare LF after the size, an extension, the data, the last chunk and the trailers
        "5\nhello\r\n0\r\n\r\n", "5;a\nhello\r\n0\r\n\r\n", "5\r\nhello\n0\r\n\r\n", "5\r\nhello\r\n0\n\r\n",
        "5\r\nhello\r\n0\r\nT: 1\n\r\n", "5\r\nhello\r\n0\r\n\n",
        // an extension without `;`, whitespace that leads nowhere, bad names and values
        "5 a\r\nhello\r\n0\r\n\r\n", "5 \r\nhello\r\n0\r\n\r\n", "5;\r\nhello\r\n0\r\n\r\n", "5;a=\r\nhello\r\n0\r\n\r\n",
        "5;a=\"b\r\nhello\r\n0\r\n\r\n", "5;a@b\r\nhello\r\n0\r\n\r\n", "5;a=b c\r\nhello\r\n0\r\n\r\n",
        // trailers: a CR or NUL in a value, no name, obs-fold
        "0\r\nT: a\rb\r\n\r\n", "0\r\nT: a\u{00}b\r\n\r\n", "0\r\n: b\r\n\r\n", "0\r\nT: a\r\n b\r\n\r\n",
        // a chunk size with a sign or spaces before it
        "+5\r\nhello\r\n0\r\n\r\n", " 5\r\nhello\r\n0\r\n\r\n",
    ])
    func lenientChunked(bad: String) {
        #expect(throws: HTTP1.ParseError.self, "\(bad.debugDescription)") {
            _ = try run(Array(bad.utf8), .chunked, .reframe, split: 4096)
        }
    }

    @Test("Extensions over the limit, and over a hundred trailer fields, are refused")
    func chunkedLimits() {
        let long = "5;" + String(repeating: "a", count: BodyReader.extensionLimit) + "\r\nhello\r\n0\r\n\r\n"
        #expect(throws: HTTP1.ParseError.self) { _ = try run(Array(long.utf8), .chunked, .reframe, split: 4096) }
        let trailers = "0\r\n" + (0...HTTP1.fieldLimit).map { "T\($0): v\r\n" }.joined() + "\r\n"
        #expect(throws: HTTP1.ParseError.self) { _ = try run(Array(trailers.utf8), .chunked, .reframe, split: 4096) }
    }

    @Test("A length-framed body ends after its bytes; the following bytes stay; a close-delimited one can go as chunks")
    func length() throws {
        var reader = BodyReader(.length(5))
        var buffer = ByteBuffer(string: "hel")
        var slices: [ByteBuffer] = []
        #expect(try !reader.read(&buffer, into: &slices))
        buffer = ByteBuffer(string: "loGET")
        #expect(try reader.read(&buffer, into: &slices))
        #expect(slices.map { String(buffer: $0) } == ["hel", "lo"] && String(buffer: buffer) == "GET")
        var close = BodyReader(.untilClose, output: .reframe)
        var data = ByteBuffer(string: "abc")
        var chunks: [ByteBuffer] = []
        #expect(try !close.read(&data, into: &chunks))
        #expect(chunks.map { String(buffer: $0) }.joined() + (close.finish().map { String(buffer: $0) } ?? "")
                == "3\r\nabc\r\n0\r\n\r\n")
    }
}
