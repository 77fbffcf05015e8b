import Foundation
import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("UpstreamRequestHead: the head the backend gets")
struct UpstreamRequestHeadTests {
    @Test("The backend's head: HTTP/1.1, Host naming the backend, X-Forwarded-For appended to, the client's X-Forwarded-* replaced")
    func upstreamHead() throws {
        let exchange = try ProxyExchangeTests.exchange("/x", head: "GET /x?y HTTP/1.1\r\nHost: gw.test\r\nX-Forwarded-For: 203.0.113.9\r\n"
            + "X-Forwarded-Proto: gopher\r\nConnection: close\r\nExpect: 100-continue\r\nAccept: */*\r\n\r\n")
        var buffer = ByteBuffer()
        UpstreamRequestHead(clientAddress: "192.0.2.7", scheme: "https", port: "443").write(exchange, into: &buffer)
        let text = String(buffer: buffer)
        #expect(text.hasPrefix("GET /x?y HTTP/1.1\r\nHost: b.test:8443\r\n"), "\(text)")
        #expect(text.contains("Accept: */*\r\n"))
        #expect(text.contains("X-Forwarded-For: 203.0.113.9, 192.0.2.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\n"
                              + "X-Forwarded-Host: gw.test\r\nX-Original-Host: gw.test\r\n\r\n"))
        for gone in ["gopher", "Connection", "Expect"] { #expect(!text.contains(gone), "\(gone) in \(text)") }
    }
}
