import NIOCore

/// The request head as the backend gets it: HTTP/1.1; the fields the client sent except hop-by-hop ones, Expect
/// and its own X-Forwarded-* (whose values the gateway's replace, X-Forwarded-For appended to); the route's
/// request rewrites; Host naming the backend; and the X-Forwarded-* set.
struct UpstreamRequestHead {
    /// The client's address and the listener's scheme and port, as the X-Forwarded-* fields carry them.
    var clientAddress: String
    var scheme: String
    var port: String

    func write(_ exchange: ProxyExchange, into buffer: inout ByteBuffer) {
        let request = exchange.request
        let head = request.head
        let originalHost = request.host
        let rewrite = exchange.route.rewrite
        request.writeForwardedHead(host: exchange.route.settings.hostHeader(for: exchange.member), into: &buffer) { field in
            rewrite.map { ClientResponseHead.rewrites(head, field, set: $0.requestSet, remove: $0.requestRemove) } ?? false
        }
        for field in rewrite?.requestSet ?? [] { buffer.writeString("\(field.name): \(field.value)\r\n") }
        buffer.writeStaticString("X-Forwarded-For: ")
        if head.has(.xForwardedFor) {
            buffer.writeString(head.values(.xForwardedFor).joined(separator: ", "))
            buffer.writeStaticString(", ")
        }
        buffer.writeString(clientAddress)
        buffer.writeStaticString("\r\nX-Forwarded-Proto: ")
        buffer.writeString(scheme)
        buffer.writeStaticString("\r\nX-Forwarded-Port: ")
        buffer.writeString(port)
        buffer.writeStaticString("\r\nX-Forwarded-Host: ")
        buffer.writeString(originalHost)
        buffer.writeStaticString("\r\nX-Original-Host: ")
        buffer.writeString(originalHost)
        buffer.writeStaticString("\r\n\r\n")
    }
}
