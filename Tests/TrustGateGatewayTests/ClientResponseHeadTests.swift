import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("ClientResponseHead: what the client gets of the backend's head")
struct ClientResponseHeadTests {
    @Test("The client's response head: HTTP/1.1, no hop-by-hop fields, the gateway's own framing, Connection as the client goes on")
    func clientHead() throws {
        func written(_ text: String, keepAlive: Bool = true, minor: Int = 1, toHEAD: Bool = false) throws -> String {
            let parsed = try HTTP1.parse(Array(text.utf8), request: false)
            var buffer = ByteBuffer()
            ClientResponseHead.write(parsed, framing: try HTTP1.responseFraming(parsed, toHEAD: toHEAD),
                                         keepAlive: keepAlive, clientMinorVersion: minor, into: &buffer)
            return String(buffer: buffer)
        }
        let chunked = "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\nConnection: keep-alive\r\nETag: x\r\n\r\n"
        #expect(try written(chunked) == "HTTP/1.1 200 OK\r\nETag: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(try written(chunked, keepAlive: false, minor: 0) == "HTTP/1.1 200 OK\r\nETag: x\r\nConnection: close\r\n\r\n")
        #expect(try written("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", minor: 0)
            == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")
        // A close-delimited body goes to an HTTP/1.1 client as chunks; a backend's Connection cannot drop the length.
        #expect(try written("HTTP/1.1 200 OK\r\nX: 1\r\n\r\n") == "HTTP/1.1 200 OK\r\nX: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(try written("HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 3, 3\r\n\r\n")
            == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")
        #expect(try written("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", toHEAD: true)
            == "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n")
    }

    @Test("A rewrite drops the fields it sets or removes, never framing or hop-by-hop ones")
    func rewrites() throws {
        let head = try HTTP1.parse(Array("HTTP/1.1 200 OK\r\nServer: x\r\nX-Debug: 1\r\nContent-Length: 0\r\n\r\n".utf8), request: false)
        let set = [GatewayConfiguration.HeaderRewrite.Field(name: "server", value: "gw")]
        let dropped = head.fields.map { ClientResponseHead.rewrites(head, $0, set: set, remove: ["x-debug", "content-length"]) }
        #expect(dropped == [true, true, false])
    }
}
