import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("BodyReader: chunked and length-framed bodies")
struct BodyReaderTests: HTTP1TestText {
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
