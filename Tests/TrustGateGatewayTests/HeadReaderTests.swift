import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("HeadReader: heads cut from reads")
struct HeadReaderTests: HTTP1TestText {
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
}
