import Testing
@testable import TrustGateGateway

@Suite("GatewayAnswer: the gateway's own responses")
struct GatewayAnswerTests {
    @Test("An error names its category in the body and in x-trustgate-reason, with its exact length")
    func error() {
        let answer = GatewayAnswer.error(502, "Bad Gateway", category: .verdict(.untrustedRoot))
        #expect(answer.body == "502 Bad Gateway: untrusted-root\n")
        #expect(answer.head == "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain; charset=utf-8\r\n"
                + "content-length: 32\r\nx-trustgate-reason: untrusted-root\r\n")
    }

    static let https = GatewayConfiguration.Listener(
        name: "secure", address: "0.0.0.0", port: 443, scheme: .https, certificate: nil, hostNames: ["*.w.test", "site.test"],
        tls: .default
    )

    static func request(_ text: String) throws -> HTTP1.Request {
        try HTTP1.Request(HTTP1.parse(Array(text.utf8), request: true))
    }

    @Test("A redirect keeps host, path and query unless told; the default port is left out; IPv6 in brackets")
    func redirect() throws {
        let rule = GatewayConfiguration.Redirect(listener: "secure", status: 308)
        let answer = try #require(GatewayAnswer.redirect(
            rule, request: try Self.request("GET /a/b?c=d HTTP/1.1\r\nHost: site.test:80\r\n\r\n"), to: Self.https, port: 443
        ))
        #expect(answer.status == 308)
        #expect(answer.head.contains("HTTP/1.1 308 Permanent Redirect\r\nlocation: https://site.test/a/b?c=d\r\n"))
        let bare = GatewayConfiguration.Redirect(listener: "secure", includePath: false, includeQuery: false)
        let other = try #require(GatewayAnswer.redirect(
            bare, request: try Self.request("GET /a?b HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"), to: Self.https, port: 8443
        ))
        #expect(other.head.contains("location: https://[::1]:8443/\r\n"), "\(other.head)")
        // No Host: the listener's first non-wildcard name.
        let noHost = try #require(GatewayAnswer.redirect(
            rule, request: try Self.request("GET / HTTP/1.0\r\n\r\n"), to: Self.https, port: 443
        ))
        #expect(noHost.head.contains("location: https://site.test/\r\n"))
    }
}
