/// The certificates of a TLS `Certificate` handshake message exactly as the server sent them (RFC 5246 §7.4.2,
/// RFC 8446 §4.4.2), read from the message OpenSSL's message callback hands over, so that the chain judged is
/// the one on the wire and not OpenSSL's re-encoding of it.
enum TLSCertificateMessage {
    /// The handshake type of `Certificate`.
    static let handshakeType: UInt8 = 11

    /// The DER certificates in order, or nil when the message is not exactly a well-formed `Certificate`
    /// message of that TLS version (every length checked, nothing left over).
    static func certificates(_ message: [UInt8], tls13: Bool) -> [[UInt8]]? {
        var reader = Reader(message[...])
        guard reader.byte() == handshakeType, let bodyLength = reader.uint(3), bodyLength == reader.remaining else {
            return nil
        }
        if tls13 {
            guard let contextLength = reader.uint(1), reader.skip(contextLength) else { return nil }
        }
        guard let listLength = reader.uint(3), listLength == reader.remaining else { return nil }
        var certificates: [[UInt8]] = []
        while reader.remaining > 0 {
            guard let length = reader.uint(3), length > 0, let der = reader.take(length) else { return nil }
            certificates.append(Array(der))
            if tls13 {
                guard let extensionsLength = reader.uint(2), reader.skip(extensionsLength) else { return nil }
            }
        }
        return certificates
    }

    private struct Reader {
        var bytes: ArraySlice<UInt8>

        init(_ bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
        }

        var remaining: Int { bytes.count }

        mutating func byte() -> UInt8? {
            bytes.popFirst()
        }

        /// A big-endian unsigned integer of `width` (1 to 3) bytes.
        mutating func uint(_ width: Int) -> Int? {
            guard bytes.count >= width else { return nil }
            var value = 0
            for byte in bytes.prefix(width) { value = value << 8 | Int(byte) }
            bytes = bytes.dropFirst(width)
            return value
        }

        mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
            guard count >= 0, bytes.count >= count else { return nil }
            let taken = bytes.prefix(count)
            bytes = bytes.dropFirst(count)
            return taken
        }

        mutating func skip(_ count: Int) -> Bool {
            take(count) != nil
        }
    }
}
