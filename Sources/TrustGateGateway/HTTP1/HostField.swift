/// The syntax of a Host field value or a target's authority (RFC 9110 §7.2, RFC 3986 §3.2.2): `host [":" port]`
/// where host is a reg-name (unreserved, sub-delims and percent-encodings), an IPv4 address, or an IP literal
/// in brackets; port is up to five digits. No user info, no path, query, whitespace or non-ASCII.
enum HostField {
    /// Whether `bytes` is a valid `host [":" port]`.
    static func isValid<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool where Bytes.Index == Int {
        guard let first = bytes.first else { return false }
        var hostEnd = bytes.endIndex
        if first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return false }
            let literal = bytes[bytes.index(after: bytes.startIndex)..<close]
            guard !literal.isEmpty, literal.allSatisfy({ $0.hexValue != nil || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") })
            else { return false }
            hostEnd = bytes.index(after: close)
            guard hostEnd == bytes.endIndex || bytes[hostEnd] == UInt8(ascii: ":") else { return false }
        } else {
            hostEnd = bytes.firstIndex(of: UInt8(ascii: ":")) ?? bytes.endIndex
            let host = bytes[bytes.startIndex..<hostEnd]
            guard !host.isEmpty, isRegName(host) else { return false }
        }
        guard hostEnd < bytes.endIndex else { return true }
        let port = bytes[bytes.index(after: hostEnd)...]
        return !port.isEmpty && port.count <= 5 && port.allSatisfy(\.isDigit)
    }

    /// `reg-name = *( unreserved / pct-encoded / sub-delims )` (an IPv4 address is one too).
    private static func isRegName<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool where Bytes.Index == Int {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, bytes[index + 1].hexValue != nil, bytes[index + 2].hexValue != nil else {
                    return false
                }
                index += 3
                continue
            }
            guard RequestTarget.isUnreserved(byte) || "!$&'()*+,;=".utf8.contains(byte) else { return false }
            index += 1
        }
        return true
    }
}
