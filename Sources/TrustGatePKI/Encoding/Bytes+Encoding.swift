import Foundation

extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal, no separators (`3f0a…`).
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Upper-case hexadecimal with colons (`3F:0A:…`), as `openssl x509 -fingerprint` prints it.
    public var colonHexString: String {
        map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return byte < 0x10 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    /// Standard Base64 with padding.
    public var base64String: String {
        Data(self).base64EncodedString()
    }
}
