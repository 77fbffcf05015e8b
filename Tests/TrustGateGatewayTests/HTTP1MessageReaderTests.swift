import NIOCore
import Testing
@testable import TrustGateGateway

/// The one reader of HTTP messages, pulled part by part, as the client side, the upstream side and the probe use it.
@Suite("HTTP1MessageReader: heads, bodies and ends from any split of the stream")
struct HTTP1MessageReaderTests {
    /// What the reader yields for `text` fed in pieces of `size` bytes, as short strings.
    static func parts<Framer: HTTP1MessageFramer>(
        _ text: String, size: Int, request: Bool, framer: Framer, describe: (Framer.Message) -> String
    ) throws(HTTP1.ParseError) -> [String] {
        var reader = HTTP1MessageReader<Framer>(request: request)
        var parts: [String] = []
        var body = ""
        func take(_ part: HTTP1MessageReader<Framer>.Part) {
            switch part {
            case .head(let message): parts.append(describe(message))
            case .body(let slice): body += String(buffer: slice)
            case .end:
                if !body.isEmpty { parts.append(Self.dechunked(body) ?? body) }
                body = ""
                parts.append("end")
            }
        }
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: size) {
            var buffer = ByteBuffer(bytes: bytes[start..<min(bytes.count, start + size)])
            while let part = try reader.next(&buffer, framer: framer, allocator: ByteBufferAllocator()) { take(part) }
            #expect(buffer.readableBytes == 0, "whatever is not taken is kept by the reader")
        }
        reader.finish(allocator: ByteBufferAllocator()).forEach(take)
        return parts
    }

    /// `chunked(DATA)` for a body in canonical chunked framing (sizes in hex, no extensions, no trailers), else nil:
    /// how the chunks fall depends on how the stream was split, not what they carry.
    static func dechunked(_ body: String) -> String? {
        var rest = Substring(body)
        var data = ""
        while let line = rest.range(of: "\r\n") {
            guard let size = Int(rest[..<line.lowerBound], radix: 16) else { return nil }
            rest = rest[line.upperBound...]
            if size == 0 { return rest == "\r\n" ? "chunked(\(data))" : nil }
            guard rest.utf8.count >= size + 2 else { return nil }
            let end = rest.utf8.index(rest.startIndex, offsetBy: size)
            data += rest[..<end]
            guard rest[end...].hasPrefix("\r\n") else { return nil }
            rest = rest[rest.utf8.index(end, offsetBy: 2)...]
        }
        return nil
    }

    @Test("Pipelined requests in any split: head, body in canonical chunks, end, in order", arguments: [1, 2, 7, 64, 4096])
    func requests(size: Int) throws {
        let text = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n"
            + "PUT /c HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
        let parts = try Self.parts(text, size: size, request: true, framer: HTTP1RequestFramer()) { $0.target.originForm }
        #expect(parts == ["/a", "end", "/b", "chunked(abc)", "end", "/c", "hi", "end"])
    }

    @Test("Responses: interim ones skipped, HEAD without a body, a close-delimited body ends when the stream does")
    func responses() throws {
        let interim = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let statuses = { (message: (HTTP1.Head, HTTP1.Framing)) in String(message.0.status) }
        #expect(try Self.parts(interim, size: 5, request: false, framer: HTTP1ResponseFramer(), describe: statuses)
                == ["200", "ok", "end"])
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
        #expect(try Self.parts(head, size: 100, request: false, framer: HTTP1ResponseFramer(toHEAD: true), describe: statuses)
                == ["200", "end"])
        let untilClose = "HTTP/1.1 200 OK\r\n\r\nabc"
        #expect(try Self.parts(untilClose, size: 100, request: false, framer: HTTP1ResponseFramer(), describe: statuses)
                == ["200", "chunked(abc)", "end"])
        #expect(try Self.parts(untilClose, size: 100, request: false, framer: HTTP1ResponseFramer(dechunk: true), describe: statuses)
                == ["200", "abc", "end"])
    }

    @Test("101 is refused to the proxy and taken by the probe; garbage is refused at once")
    func refusals() throws {
        let switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"
        let statuses = { (message: (HTTP1.Head, HTTP1.Framing)) in String(message.0.status) }
        #expect(throws: HTTP1.ParseError.self) {
            try Self.parts(switching, size: 100, request: false, framer: HTTP1ResponseFramer(), describe: statuses)
        }
        let probe = HTTP1ResponseFramer(relay: false, allowSwitching: true)
        #expect(try Self.parts(switching, size: 100, request: false, framer: probe, describe: statuses) == ["101", "end"])
        #expect(throws: HTTP1.ParseError.self) {
            try Self.parts("\u{16}\u{03}\u{01}\u{02}\u{00}", size: 100, request: true, framer: HTTP1RequestFramer()) { _ in "" }
        }
    }
}
