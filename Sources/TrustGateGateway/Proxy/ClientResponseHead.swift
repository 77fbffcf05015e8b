import NIOCore

/// The response head as the client gets it: HTTP/1.1 with the backend's status; its fields but the hop-by-hop
/// ones and those its Connection field names; the framing written by the gateway for the body it sends
/// (``BodyReader``): the parsed Content-Length, or `Transfer-Encoding: chunked` for a chunked or close-delimited
/// body to an HTTP/1.1 client, nothing for the data alone to an HTTP/1.0 client; a response without a body (to
/// HEAD, 304) keeps the length it announced; Connection as this client connection goes on.
enum ClientResponseHead {
    static func write(
        _ head: HTTP1.Head, framing: HTTP1.Framing, keepAlive: Bool, clientMinorVersion: Int, extraFields: String = "",
        dropping drop: ((HTTP1.Field) -> Bool)? = nil, into buffer: inout ByteBuffer
    ) {
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeBytes(head.bytes[head.first])
        buffer.writeStaticString(" ")
        buffer.writeBytes(head.bytes[head.second])
        buffer.writeStaticString("\r\n")
        head.writeFields(into: &buffer) {
            $0.kind.isHopByHop || $0.kind == .transferEncoding || $0.kind == .contentLength || drop?($0) == true
        }
        switch framing {
        case .length(let length):
            writeContentLength(length, into: &buffer)
        case .chunked, .untilClose:
            if clientMinorVersion == 1 { buffer.writeStaticString("Transfer-Encoding: chunked\r\n") }
        case .none:
            // To HEAD, or 304: the length the body would have, as the backend announced it (already validated).
            if head.status != 204, head.status >= 200, let length = try? HTTP1.contentLength(head) {
                writeContentLength(length, into: &buffer)
            } else if head.status != 204, head.status >= 200, head.has(.transferEncoding), clientMinorVersion == 1 {
                buffer.writeStaticString("Transfer-Encoding: chunked\r\n")
            }
        }
        buffer.writeString(extraFields)
        if !keepAlive {
            buffer.writeStaticString("Connection: close\r\n")
        } else if clientMinorVersion == 0 {
            buffer.writeStaticString("Connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
    }

    /// The backend's `101` to a WebSocket handshake as the client gets it: its fields but the hop-by-hop ones and
    /// any framing, then `Connection: upgrade` and `Upgrade: websocket` (the one protocol it was allowed to name).
    static func writeSwitching(
        _ head: HTTP1.Head, extraFields: String = "", dropping drop: ((HTTP1.Field) -> Bool)? = nil,
        into buffer: inout ByteBuffer
    ) {
        buffer.writeStaticString("HTTP/1.1 101 ")
        buffer.writeBytes(head.bytes[head.second])
        buffer.writeStaticString("\r\n")
        head.writeFields(into: &buffer) {
            $0.kind.isHopByHop || $0.kind == .transferEncoding || $0.kind == .contentLength || drop?($0) == true
        }
        buffer.writeString(extraFields)
        buffer.writeStaticString("Connection: upgrade\r\nUpgrade: websocket\r\n\r\n")
    }

    private static func writeContentLength(_ length: Int, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("Content-Length: ")
        buffer.writeString(String(length))
        buffer.writeStaticString("\r\n")
    }

    /// Whether a rewrite replaces or removes `field` (only `.other` fields can be rewritten).
    static func rewrites(
        _ head: HTTP1.Head, _ field: HTTP1.Field, set: [GatewayConfiguration.HeaderRewrite.Field], remove: [String]
    ) -> Bool {
        guard field.kind == .other else { return false }
        let name = head.string(field.name).lowercased()
        return remove.contains(name) || set.contains { $0.name == name }
    }
}
