import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("HTTP/1.1 on bytes: heads, framing, hop-by-hop fields")
struct HTTP1Tests {
    private func head(_ text: String, request: Bool = true) throws(HTTP1.ParseError) -> HTTP1.Head {
        try HTTP1.parse(Array(text.utf8), request: request)
    }

    private func refusal(_ text: String, request: Bool = true) -> HTTP1.ParseError? {
        do {
            let parsed = try head(text, request: request)
            _ = request ? try HTTP1.requestFraming(parsed) : try HTTP1.responseFraming(parsed, toHEAD: false)
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
        let old = try head("HEAD / HTTP/1.0\nConnection: Keep-Alive\n\n")
        #expect(old.isHEAD && old.minorVersion == 0 && old.isKeepAlive)
        #expect(try !head("GET / HTTP/1.0\r\n\r\n").isKeepAlive)
        #expect(try !head("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n").isKeepAlive)
    }

    @Test("Malformed requests are refused with the status nginx gives")
    func refusals() {
        let cases: [(String, Int)] = [
            ("NOT HTTP AT ALL\r\n\r\n", 400),
            ("GET /\r\n\r\n", 400),
            ("GET / HTTP/2.0\r\n\r\n", 505),
            ("GET / HTTP/1.1 \r\n\r\n", 400),
            ("G(T / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nX: a\u{01}b\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 501),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ]
        for (text, status) in cases {
            #expect(refusal(text)?.status.code == status, "\(text.debugDescription)")
        }
        #expect(refusal("POST / HTTP/1.1\r\nContent-Length: 7, 7\r\n\r\n") == nil)
    }

    @Test("Response framing: HEAD, 204 and 304 have no body; chunked; a length; else until the backend closes")
    func responseFraming() throws {
        func framing(_ text: String, toHEAD: Bool = false) throws -> HTTP1.Framing {
            try HTTP1.responseFraming(try head(text, request: false), toHEAD: toHEAD)
        }
        #expect(try framing("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n") == .length(10))
        #expect(try framing("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", toHEAD: true) == .none)
        #expect(try framing("HTTP/1.1 204 No Content\r\n\r\n") == .none)
        #expect(try framing("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n") == .none)
        #expect(try framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == .chunked)
        #expect(try framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n") == .untilClose)
        #expect(try framing("HTTP/1.0 200 ok\r\n\r\n") == .untilClose)
        #expect(try framing("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n") == .none)
        let parsed = try head("HTTP/1.1 404 Not Found\r\n\r\n", request: false)
        #expect(parsed.status == 404 && parsed.string(parsed.second) == "Not Found")
        #expect(refusal("HTTP/1.1 2000 OK\r\n\r\n", request: false) != nil)
        #expect(refusal("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", request: false) != nil)
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

    @Test("The client's response head: HTTP/1.1, no hop-by-hop fields, one framing, Connection as the client goes on")
    func clientHead() throws {
        func written(_ text: String, keepAlive: Bool = true, minor: Int = 1) throws -> String {
            let parsed = try head(text, request: false)
            var buffer = ByteBuffer()
            ProxyHandler.writeClientHead(parsed, framing: try HTTP1.responseFraming(parsed, toHEAD: false),
                                         keepAlive: keepAlive, clientMinorVersion: minor, into: &buffer)
            return String(buffer: buffer)
        }
        let both = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nETag: x\r\n\r\n"
        #expect(try written(both) == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: x\r\n\r\n")
        #expect(try written(both, keepAlive: false, minor: 0) == "HTTP/1.1 200 OK\r\nETag: x\r\nConnection: close\r\n\r\n")
        #expect(try written("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", minor: 0)
            == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")
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

    @Test("A chunked body split anywhere: relayed with its framing, or as data alone; the end is found")
    func chunked() throws {
        let body = "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n"
        let next = "GET /next HTTP/1.1\r\n\r\n"
        for split in [1, 2, 3, 7, 64] {
            for dechunk in [false, true] {
                var reader = BodyReader(.chunked, dechunk: dechunk)
                var relayed = ByteBuffer()
                var rest = ByteBuffer()
                var done = false
                let bytes = Array((body + next).utf8)
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
                    for var slice in slices { relayed.writeBuffer(&slice) }
                    rest.writeBuffer(&buffer)
                }
                #expect(done)
                #expect(String(buffer: relayed) == (dechunk ? "hello0123456789" : body), "split \(split)")
                #expect(String(buffer: rest) == next)
            }
        }
        for bad in ["x\r\n", "5\r\nhelloX", "10000000000000000\r\n", "5\r\nhello\r\n0\r\nX\r\n\rY"] {
            var reader = BodyReader(.chunked)
            var buffer = ByteBuffer(string: bad)
            var slices: [ByteBuffer] = []
            #expect(throws: HTTP1.ParseError.self, "\(bad.debugDescription)") { try reader.read(&buffer, into: &slices) }
        }
    }

    @Test("A length-framed body ends after its bytes; the following bytes stay")
    func length() throws {
        var reader = BodyReader(.length(5))
        var buffer = ByteBuffer(string: "hel")
        var slices: [ByteBuffer] = []
        #expect(try !reader.read(&buffer, into: &slices))
        buffer = ByteBuffer(string: "loGET")
        #expect(try reader.read(&buffer, into: &slices))
        #expect(slices.map { String(buffer: $0) } == ["hel", "lo"] && String(buffer: buffer) == "GET")
    }
}
