import NIOCore
import Testing
@testable import TrustGateGateway

/// Which requests open a WebSocket handshake, which of those are refused, and which backend 101s accept one.
@Suite("WebSocketUpgrade: the opening handshake (RFC 6455 §4) on both sides")
struct WebSocketUpgradeTests: HTTP1TestText {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    static let handshake = "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
        + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"

    func switching(_ fields: String) throws -> HTTP1.Head {
        try head("HTTP/1.1 101 Switching Protocols\r\n\(fields)\r\n", request: false)
    }

    @Test("The accept of RFC 6455 §1.3's example key")
    func acceptValue() {
        #expect(WebSocketUpgrade.accept(forKey: Self.key) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test("A valid handshake is recognised, in any case of its tokens, and forwarded with one Upgrade of our own")
    func recognised() throws {
        let parsed = try request(Self.handshake)
        #expect(parsed.webSocket == WebSocketUpgrade(expectedAccept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        let mixed = try request(
            "GET / HTTP/1.1\r\nHost: a\r\nconnection: UPGRADE\r\nupgrade: h2c, WebSocket\r\nsec-websocket-key: \(Self.key)\r\n\r\n"
        )
        #expect(mixed.webSocket != nil)
        var buffer = ByteBuffer()
        mixed.writeForwardedHead(host: "b", into: &buffer)
        let forwarded = String(buffer: buffer)
        #expect(forwarded == "GET / HTTP/1.1\r\nHost: b\r\nConnection: upgrade\r\nUpgrade: websocket\r\nsec-websocket-key: \(Self.key)\r\n")
    }

    @Test("Upgrade without the connection option, or naming another protocol, is no handshake: plain HTTP")
    func notAsked() throws {
        let cases = [
            "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nSec-WebSocket-Key: \(Self.key)\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket/13\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nContent-Length: 1\r\n\r\n",
        ]
        for text in cases {
            let parsed = try request(text)
            #expect(parsed.webSocket == nil, "\(text.debugDescription)")
            var buffer = ByteBuffer()
            parsed.writeForwardedHead(host: "b", into: &buffer)
            #expect(!String(buffer: buffer).lowercased().contains("upgrade"), "\(text.debugDescription): hop-by-hop, dropped")
        }
    }

    @Test("A handshake RFC 6455 §4.1 does not allow is 400, never half-understood")
    func refused() {
        let upgrade = "Connection: upgrade\r\nUpgrade: websocket\r\n"
        let cases = [
            "POST / HTTP/1.1\r\nHost: a\r\n\(upgrade)Sec-WebSocket-Key: \(Self.key)\r\n\r\n",
            "GET / HTTP/1.0\r\nHost: a\r\n\(upgrade)Sec-WebSocket-Key: \(Self.key)\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)Sec-WebSocket-Key: \(Self.key)\r\nContent-Length: 1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)Sec-WebSocket-Key: \(Self.key)\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)Sec-WebSocket-Key: \(Self.key)\r\nSec-WebSocket-Key: \(Self.key)\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)Sec-WebSocket-Key: \r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==dGhl\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)Sec-WebSocket-Key: ************************\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket, \"x\"\r\nSec-WebSocket-Key: \(Self.key)\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\(String(repeating: ", a", count: ConnectionOptions.tokenLimit))\r\n"
                + "Sec-WebSocket-Key: \(Self.key)\r\n\r\n",
        ]
        for text in cases {
            let error = refusal(text)
            #expect(error?.status.code == 400, "\(text.debugDescription): \(String(describing: error))")
        }
    }

    @Test("The backend's 101 accepts the handshake only as RFC 6455 §4.2.2 writes it")
    func backendSwitching() throws {
        let upgrade = WebSocketUpgrade(expectedAccept: WebSocketUpgrade.accept(forKey: Self.key))
        let accept = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        try upgrade.checkSwitching(switching("Upgrade: websocket\r\nConnection: Upgrade\r\n\(accept)"))
        try upgrade.checkSwitching(switching("upgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\n\(accept)Sec-WebSocket-Protocol: chat\r\n"))
        let refused = [
            "Upgrade: websocket\r\n\(accept)",
            "Connection: upgrade\r\n\(accept)",
            "Upgrade: websocket, h2c\r\nConnection: upgrade\r\n\(accept)",
            "Upgrade: h2c\r\nConnection: upgrade\r\n\(accept)",
            "Upgrade: websocket\r\nConnection: upgrade\r\n",
            "Upgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n",
            "Upgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: S3PPLMBITXAQ9KYGZZHZRBK+XOO=\r\n",
            "Upgrade: websocket\r\nConnection: upgrade\r\n\(accept)\(accept)",
            "Upgrade: websocket\r\nConnection: upgrade\r\n\(accept)Content-Length: 0\r\n",
            "Upgrade: websocket\r\nConnection: upgrade\r\n\(accept)Transfer-Encoding: chunked\r\n",
        ]
        for fields in refused {
            #expect(throws: HTTP1.ParseError.self, "\(fields.debugDescription)") { try upgrade.checkSwitching(switching(fields)) }
        }
    }

    @Test("The response framer: a 101 only to a handshake it accepts; to anything else a bad response")
    func framer() throws {
        let good = try switching("Upgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n")
        var framer = HTTP1ResponseFramer()
        #expect(throws: HTTP1.ParseError.self) { try framer.frame(good) }
        framer.webSocket = WebSocketUpgrade(expectedAccept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(try framer.frame(good)?.framing == HTTP1.Framing.none)
        framer.webSocket = WebSocketUpgrade(expectedAccept: WebSocketUpgrade.accept(forKey: "AAAAAAAAAAAAAAAAAAAAAA=="))
        #expect(throws: HTTP1.ParseError.self) { try framer.frame(good) }
    }

    @Test("The client's 101: the backend's fields but hop-by-hop and framing, then our Connection and Upgrade")
    func clientHead() throws {
        let backend = try switching("Upgrade: WebSocket\r\nConnection: Upgrade, X-Hop\r\nKeep-Alive: 5\r\nX-Hop: 1\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n")
        var buffer = ByteBuffer()
        ClientResponseHead.writeSwitching(backend, extraFields: "Set-Cookie: a=b\r\n", into: &buffer)
        #expect(String(buffer: buffer) == "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            + "Sec-WebSocket-Protocol: chat\r\nSet-Cookie: a=b\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")
    }
}
