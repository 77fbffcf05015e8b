import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("ConnectionOptions: what a Connection field may remove")
struct ConnectionOptionsTests: HTTP1TestText {
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
}
