import Testing
@testable import TrustGateGateway

@Suite("AffinityCookie: the member a request's cookie names, and the Set-Cookie of a new one")
struct AffinityCookieTests {
    @Test("The cookie's value from any Cookie field, names compared exactly, spaces trimmed")
    func value() throws {
        let head = try HTTP1.parse(Array(
            "GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1; TrustGateAffinityX=2\r\ncookie:  TrustGateAffinity = m-3 \r\n\r\n".utf8
        ), request: true)
        #expect(AffinityCookie.value(named: "TrustGateAffinity", in: head) == "m-3")
        #expect(AffinityCookie.value(named: "a", in: head) == "1")
        #expect(AffinityCookie.value(named: "missing", in: head) == nil)
    }

    @Test("Set-Cookie only when the member changed; Secure on HTTPS, SameSite=None when configured")
    func setCookie() {
        let affinity = GatewayConfiguration.Affinity(cookieName: "S", sameSiteNone: true)
        #expect(AffinityCookie.setCookie(affinity, value: "v", presented: "v", secure: true) == "")
        #expect(AffinityCookie.setCookie(affinity, value: "v", presented: nil, secure: true)
                == "Set-Cookie: S=v; Path=/; HttpOnly; Secure; SameSite=None\r\n")
        #expect(AffinityCookie.setCookie(.init(), value: "w", presented: "v", secure: false)
                == "Set-Cookie: TrustGateAffinity=w; Path=/; HttpOnly\r\n")
    }
}
