import NIOCore

extension HTTP1 {
    /// A request as the gateway understood it, every decision about it made once: its framing, its target
    /// (normalized) and the host it is for. What the gateway forwards is written from this, never copied from the
    /// bytes that came in.
    struct Request {
        let head: Head
        let framing: Framing
        let target: RequestTarget
        /// The host the request is for: an absolute-form target's authority, else the Host field; empty for an
        /// HTTP/1.0 request without Host.
        let host: String
        /// The WebSocket handshake the request opens (``WebSocketUpgrade``), nil for a plain request.
        let webSocket: WebSocketUpgrade?

        /// Validates `head`: framing (``HTTP1/requestFraming(_:)``), target, and exactly one valid Host on
        /// HTTP/1.1 (RFC 9112 §3.2: none, two, or an invalid one is 400); at most one, valid, on HTTP/1.0.
        init(_ head: Head, allowEncodedSlashes: Bool = false) throws(ParseError) {
            self.head = head
            framing = try requestFraming(head)
            target = try RequestTarget(head.bytes[head.second], method: head.bytes[head.first],
                                       allowEncodedSlashes: allowEncodedSlashes)
            var hostField: Field?
            for field in head.fields where field.kind == .host {
                guard hostField == nil else { throw .malformed("more than one Host field") }
                hostField = field
            }
            if let hostField {
                guard HostField.isValid(head.bytes[hostField.value]) else { throw .malformed("bad Host") }
            } else if head.minorVersion == 1 {
                throw .malformed("an HTTP/1.1 request without Host")
            }
            host = target.authority ?? hostField.map { head.string($0.value) } ?? ""
            webSocket = try WebSocketUpgrade.requested(by: head, hasBody: framing.hasBody)
        }

        /// The request line and fields as the backend gets them, written from what was parsed: the method, the
        /// normalized target in origin-form, HTTP/1.1; `Host: host`; the parsed framing (`Content-Length: N` or
        /// `Transfer-Encoding: chunked`, never the client's own fields); then the client's other fields, except
        /// those the gateway handles by kind (hop-by-hop, Host, framing, Expect, X-Forwarded-*), those its
        /// Connection field names, and those `drop` refuses; for a WebSocket handshake, `Connection: upgrade` and
        /// `Upgrade: websocket` (the only protocol ever relayed). The empty line that ends the head is not written.
        func writeForwardedHead(host: String, into buffer: inout ByteBuffer, dropping drop: (Field) -> Bool = { _ in false }) {
            buffer.writeBytes(head.bytes[head.first])
            buffer.writeStaticString(" ")
            buffer.writeString(target.originForm)
            buffer.writeStaticString(" HTTP/1.1\r\nHost: ")
            buffer.writeString(host)
            buffer.writeStaticString("\r\n")
            switch framing {
            case .length(let length):
                buffer.writeStaticString("Content-Length: ")
                buffer.writeString(String(length))
                buffer.writeStaticString("\r\n")
            case .chunked:
                buffer.writeStaticString("Transfer-Encoding: chunked\r\n")
            case .none, .untilClose:
                break
            }
            if webSocket != nil { buffer.writeStaticString("Connection: upgrade\r\nUpgrade: websocket\r\n") }
            head.writeFields(into: &buffer) { field in field.kind != .other || drop(field) }
        }

        /// Whether the request expects `100-continue` (HTTP/1.1 only).
        var expectsContinue: Bool {
            head.minorVersion == 1 && head.fields.contains { field in
                field.kind == .expect && equalsLowercase(head.bytes[field.value], "100-continue")
            }
        }
    }
}
