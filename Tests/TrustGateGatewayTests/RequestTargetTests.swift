import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("RequestTarget: request targets normalized once")
struct RequestTargetTests: HTTP1TestText {
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
