import Crypto
import Foundation

/// A WebSocket opening handshake (RFC 6455 §4) the gateway relays, decided once from the request's head.
///
/// A request asks for WebSocket when its Connection fields carry the `upgrade` option and an Upgrade field names
/// `websocket` (RFC 9110 §7.8; an Upgrade field without that option is ignored, as the RFC says, and the request
/// goes on as plain HTTP, its Upgrade field dropped as hop-by-hop). Such a request must be what RFC 6455 §4.1
/// allows, else it is refused with 400 (never half-understood): GET, HTTP/1.1, no body, exactly one
/// `Sec-WebSocket-Key` whose value is 16 bytes in base64. Other Upgrade tokens (`h2c`, ...) are never honoured.
///
/// The backend switches protocols only with a `101` that names `websocket` in Upgrade, carries the `upgrade`
/// option, no body framing, and the `Sec-WebSocket-Accept` RFC 6455 §4.2.2 derives from the client's key: a
/// backend that answered anything else did not take the handshake, and the connection is never made a tunnel on
/// the request's word alone (the proxy desync of WebSocket smuggling).
struct WebSocketUpgrade: Equatable {
    /// The `Sec-WebSocket-Accept` value the backend's 101 must carry.
    let expectedAccept: String

    /// The GUID of RFC 6455 §1.3.
    private static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The `Sec-WebSocket-Accept` for `key`: base64 of SHA-1 of the key (as sent) and the GUID.
    static func accept(forKey key: String) -> String {
        Data(Insecure.SHA1.hash(data: Array((key + guid).utf8))).base64EncodedString()
    }

    /// The handshake `head` asks for, nil when it does not ask for WebSocket; throws for one that asks for it but
    /// is not a valid opening handshake. `hasBody`: the request's framing announces content.
    static func requested(by head: HTTP1.Head, hasBody: Bool) throws(HTTP1.ParseError) -> WebSocketUpgrade? {
        guard head.connection.upgrade, try names(head, "websocket") else { return nil }
        guard head.bytes[head.first].elementsEqual("GET".utf8) else { throw .malformed("a WebSocket upgrade not by GET") }
        guard head.minorVersion == 1 else { throw .malformed("a WebSocket upgrade in HTTP/1.0") }
        guard !hasBody else { throw .malformed("a WebSocket upgrade with a body") }
        let keys = head.fields.filter { field in
            field.kind == .other && HTTP1.equalsLowercase(head.bytes[field.name], "sec-websocket-key")
        }
        guard keys.count == 1, let key = keys.first else {
            throw .malformed("a WebSocket upgrade without exactly one Sec-WebSocket-Key")
        }
        let value = head.string(key.value)
        guard value.utf8.count == 24, let nonce = Data(base64Encoded: value), nonce.count == 16 else {
            throw .malformed("a Sec-WebSocket-Key that is not 16 bytes in base64")
        }
        return WebSocketUpgrade(expectedAccept: accept(forKey: value))
    }

    /// Checks that `head`, a backend's 101, accepts this handshake.
    func checkSwitching(_ head: HTTP1.Head) throws(HTTP1.ParseError) {
        guard head.connection.upgrade else { throw .malformed("a 101 without the upgrade connection option") }
        guard try Self.names(head, "websocket", only: true) else { throw .malformed("a 101 to a protocol other than websocket") }
        guard !head.has(.contentLength), !head.has(.transferEncoding) else { throw .malformed("a 101 with body framing") }
        let accepts = head.fields.filter { field in
            field.kind == .other && HTTP1.equalsLowercase(head.bytes[field.name], "sec-websocket-accept")
        }
        guard accepts.count == 1, let accept = accepts.first, head.string(accept.value) == expectedAccept else {
            throw .malformed("a 101 whose Sec-WebSocket-Accept does not answer the client's key")
        }
    }

    /// Whether the Upgrade fields of `head` name `protocol` (ASCII case-insensitive; a protocol may carry a
    /// version, `name/version`, which then must be absent for a match); `only`: and nothing else. At most
    /// ``ConnectionOptions/tokenLimit`` protocols are read.
    private static func names(_ head: HTTP1.Head, _ protocolName: StaticString, only: Bool = false) throws(HTTP1.ParseError) -> Bool {
        var found = false
        var count = 0
        for field in head.fields where field.kind == .upgrade {
            for element in head.bytes[field.value].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                var token = element[...]
                while let first = token.first, first.isSpace { token = token.dropFirst() }
                while let last = token.last, last.isSpace { token = token.dropLast() }
                guard !token.isEmpty else { continue }
                count += 1
                guard count <= ConnectionOptions.tokenLimit else { throw .malformed("too many Upgrade protocols") }
                guard token.allSatisfy({ HTTP1.isTokenByte($0) || $0 == UInt8(ascii: "/") }) else {
                    throw .malformed("bad Upgrade protocol")
                }
                if HTTP1.equalsLowercase(token, protocolName) { found = true } else if only { return false }
            }
        }
        return found
    }
}
