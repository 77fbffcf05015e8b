import Testing
@testable import TrustGateGateway

@Suite("HostField: what a Host field may hold (RFC 9110 §7.2, RFC 3986 authority)")
struct HostFieldTests {
    @Test("Names, IPv4, bracketed IPv6 and a port are valid; userinfo, spaces, bad ports and bare IPv6 are not",
          arguments: [("a.test", true), ("a.test:8443", true), ("192.0.2.1:80", true), ("[::1]:443", true), ("", false),
                      ("a b", false), ("user@a.test", false), ("a.test:x", false), ("::1", false), ("a.test:99999999999999999999", false),
                      ("a.test\u{0}", false), ("[::1", false)])
    func validity(host: String, valid: Bool) {
        #expect(HostField.isValid(Array(host.utf8)[...]) == valid, "\(host)")
    }
}
