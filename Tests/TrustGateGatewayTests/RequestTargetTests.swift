import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("RequestTarget: request targets normalized once")
struct RequestTargetTests {
    func head(_ text: String, request: Bool = true) throws(HTTP1.ParseError) -> HTTP1.Head {
        try HTTP1.parse(Array(text.utf8), request: request)
    }

    func request(_ text: String, allowEncodedSlashes: Bool = false) throws(HTTP1.ParseError) -> HTTP1.Request {
        try HTTP1.Request(head(text), allowEncodedSlashes: allowEncodedSlashes)
    }

    func refusal(_ text: String, request isRequest: Bool = true) -> HTTP1.ParseError? {
        do {
            if isRequest {
                _ = try request(text)
            } else {
                _ = try HTTP1.responseFraming(try head(text, request: false), toHEAD: false)
            }
            return nil
        } catch {
            return error
        }
    }

    @Test("Targets are normalized once: routed and forwarded the same; absolute-form gives the host")
    func targets() throws {
        func forwarded(_ target: String, allow: Bool = false) throws -> String {
            try request("GET \(target) HTTP/1.1\r\nHost: a.test\r\n\r\n", allowEncodedSlashes: allow).target.originForm
        }
        #expect(try forwarded("/images/../admin") == "/admin")
        #expect(try forwarded("/images/./a/../b") == "/images/b")
        #expect(try forwarded("//a///b/") == "/a/b/")
        #expect(try forwarded("/a/.") == "/a/")
        #expect(try forwarded("/a/..") == "/")
        #expect(try forwarded("/") == "/")
        #expect(try forwarded("/%41%7e%2D/%3f?x=%2F/../&y") == "/A~-/%3F?x=%2F/../&y")
        #expect(try forwarded("/a%2fb", allow: true) == "/a%2Fb")
        let absolute = try request("GET http://Internal.Example:8080/x/../y?q HTTP/1.1\r\nHost: a.test\r\n\r\n")
        #expect(absolute.host == "Internal.Example:8080" && absolute.target.originForm == "/y?q")
        #expect(try request("GET https://b.test HTTP/1.1\r\nHost: b.test\r\n\r\n").target.originForm == "/")
        #expect(try request("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").target.originForm == "*")
        #expect(try request("GET / HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n").host == "[::1]:8443")
    }
}
