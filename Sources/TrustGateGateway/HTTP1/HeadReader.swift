import NIOCore

/// Collects a head from reads until the empty line that ends it.
struct HeadReader {
    /// Request heads, or response heads.
    let request: Bool
    private var pending: ByteBuffer?
    /// Where the search for the end resumes in `pending`.
    private var scanned = 0

    init(request: Bool) {
        self.request = request
    }

    /// Part of a head has arrived.
    var isPartial: Bool { pending != nil }

    /// The next complete head from the front of `buffer` (with what earlier reads left), or nil when more bytes
    /// are needed; `buffer` is left with the bytes after the head. Empty lines before a head are skipped
    /// (RFC 9112 §2.2).
    mutating func take(_ buffer: inout ByteBuffer) throws(HTTP1.ParseError) -> [UInt8]? {
        if pending == nil {
            while let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
                byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
            {
                buffer.moveReaderIndex(forwardBy: 1)
            }
            guard buffer.readableBytes > 0 else { return nil }
            if let end = Self.end(of: buffer, from: 0) {
                return buffer.readBytes(length: end)
            }
            guard buffer.readableBytes <= HTTP1.headLimit else { throw .headTooLarge }
            try checkStart(buffer)
            pending = buffer
            scanned = max(0, buffer.readableBytes - 3)
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return nil
        }
        guard var collected = pending else { return nil }
        pending = nil
        collected.writeBuffer(&buffer)
        guard let end = Self.end(of: collected, from: scanned) else {
            guard collected.readableBytes <= HTTP1.headLimit else { throw .headTooLarge }
            try checkStart(collected)
            scanned = max(0, collected.readableBytes - 3)
            pending = collected
            return nil
        }
        guard end <= HTTP1.headLimit else { throw .headTooLarge }
        let head = collected.readBytes(length: end)
        buffer = collected
        return head
    }

    /// While a head is incomplete: refuses at once what cannot begin one (TLS sent to a plain-HTTP port, a
    /// backend that is not HTTP), instead of waiting for an empty line that never comes.
    private func checkStart(_ buffer: ByteBuffer) throws(HTTP1.ParseError) {
        let prefix = buffer.readableBytesView.prefix(16)
        if request {
            for byte in prefix {
                if byte == UInt8(ascii: " ") { return }
                guard HTTP1.isTokenByte(byte) else { throw .malformed("not an HTTP request") }
            }
        } else {
            guard prefix.starts(with: "HTTP/".utf8.prefix(prefix.count)) else { throw .malformed("not an HTTP response") }
        }
    }

    /// The length up to and including the empty line (LF LF or LF CR LF), if the buffer holds it.
    private static func end(of buffer: ByteBuffer, from start: Int) -> Int? {
        buffer.withUnsafeReadableBytes { bytes in
            var index = start
            while index < bytes.count {
                guard let lf = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
                if lf + 1 < bytes.count, bytes[lf + 1] == UInt8(ascii: "\n") { return lf + 2 }
                if lf + 2 < bytes.count, bytes[lf + 1] == UInt8(ascii: "\r"), bytes[lf + 2] == UInt8(ascii: "\n") {
                    return lf + 3
                }
                index = lf + 1
            }
            return nil
        }
    }
}
