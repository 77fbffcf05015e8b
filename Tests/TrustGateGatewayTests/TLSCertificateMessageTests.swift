import Foundation
import Testing
import TrustGateAllowList
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

@Suite("TLSCertificateMessage: the certificates of a TLS 1.2 or 1.3 Certificate message")
struct TLSCertificateMessageTests {
    static func u24(_ value: Int) -> [UInt8] { [UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }

    static func message(_ certificates: [[UInt8]], tls13: Bool) -> [UInt8] {
        let entries: [UInt8] = certificates.flatMap { u24($0.count) + $0 + (tls13 ? [0, 0] : []) }
        let body: [UInt8] = (tls13 ? [0] : []) + u24(entries.count) + entries
        return [11] + u24(body.count) + body
    }

    @Test("A Certificate message gives its certificates in order; any length that does not add up is refused")
    func certificateMessage() throws {
        let one = try CustomCertificate("a.test", ca: false).certificate.der
        let two = try CustomCertificate("b.test", ca: true).certificate.der
        for tls13 in [false, true] {
            let message = Self.message([one, two], tls13: tls13)
            #expect(TLSCertificateMessage.certificates(message, tls13: tls13) == [one, two])
            // Read with the other version's framing, the same bytes do not add up.
            #expect(TLSCertificateMessage.certificates(message, tls13: !tls13) == nil)
            // Cut anywhere, or one byte too many: refused.
            for cut in [1, 4, 5, 9, message.count / 2, message.count - 1] {
                #expect(TLSCertificateMessage.certificates(Array(message.prefix(cut)), tls13: tls13) == nil, "cut at \(cut)")
            }
            #expect(TLSCertificateMessage.certificates(message + [0], tls13: tls13) == nil)
            // An empty certificate entry, and a message of another type.
            #expect(TLSCertificateMessage.certificates(Self.message([[]], tls13: tls13), tls13: tls13) == nil)
            #expect(TLSCertificateMessage.certificates([12] + message.dropFirst(), tls13: tls13) == nil)
        }
        // An empty list is a message without certificates (then refused by PresentedChain, as malformed).
        #expect(TLSCertificateMessage.certificates(Self.message([], tls13: false), tls13: false) == [])
    }
}
