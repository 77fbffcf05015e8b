/// A response of the gateway's own (an error naming its category, a redirect), as its status line and fields
/// without `Connection` and the blank line (which depend on how the connection goes on), and its body.
struct GatewayAnswer: Equatable {
    var status: Int
    var head: String
    var body: String

    static func error(_ status: Int, _ reason: String, category: GatewayOutcome) -> GatewayAnswer {
        let body = "\(status) \(reason): \(category)\n"
        return GatewayAnswer(
            status: status,
            head: "HTTP/1.1 \(status) \(reason)\r\ncontent-type: text/plain; charset=utf-8\r\n"
                + "content-length: \(body.utf8.count)\r\nx-trustgate-reason: \(category)\r\n",
            body: body
        )
    }

    static let badRequest = (400, "Bad Request")
    static let notFound = (404, "Not Found")
    static let requestTimeout = (408, "Request Timeout")
    static let badGateway = (502, "Bad Gateway")
    static let serviceUnavailable = (503, "Service Unavailable")
    static let gatewayTimeout = (504, "Gateway Timeout")

    /// A redirect rule's answer: the request's host on the target listener's scheme and port (`port`: the port it is
    /// bound to), with the path and query unless the rule drops them (Azure's HTTP-to-HTTPS redirect); nil for a
    /// Host that cannot go into a Location.
    static func redirect(
        _ redirect: GatewayConfiguration.Redirect, request: HTTP1.Request, to listener: GatewayConfiguration.Listener,
        port: Int
    ) -> GatewayAnswer? {
        var host = Router.hostWithoutPort(request.host)
        if host.isEmpty { host = listener.hostNames.first { !$0.hasPrefix("*.") } ?? listener.address }
        guard host.utf8.allSatisfy({ HTTP1.isTokenByte($0) || $0 == UInt8(ascii: ":") }) else { return nil }
        let shown = host.contains(":") ? "[\(host)]" : host
        let authority = port == (listener.scheme == .https ? 443 : 80) ? shown : "\(shown):\(port)"
        let path = redirect.includePath && request.target.form != .asterisk ? request.target.path : "/"
        let query = redirect.includeQuery ? request.target.query.map { "?" + $0 } ?? "" : ""
        let location = "\(listener.scheme.rawValue)://\(authority)\(path.hasPrefix("/") ? path : "/" + path)\(query)"
        let reasons = [301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect", 308: "Permanent Redirect"]
        return GatewayAnswer(
            status: redirect.status,
            head: "HTTP/1.1 \(redirect.status) \(reasons[redirect.status] ?? "Redirect")\r\nlocation: \(location)\r\n"
                + "content-length: 0\r\n",
            body: ""
        )
    }
}
