import NIOCore

/// Follows a body through its framing: which of the bytes that arrive belong to it, where it ends, and what the
/// gateway sends on in their place.
///
/// A Content-Length body is relayed as it arrives. A chunked body is parsed strictly (RFC 9112 §7.1): chunk sizes
/// of at most 15 hex digits, extensions only after `;` as `token [= token / quoted-string]` (at most
/// ``extensionLimit`` bytes a chunk), CRLF and nothing else after sizes and data, trailer fields parsed like
/// header fields (at most ``HTTP1/fieldLimit`` of them in ``HTTP1/headLimit`` bytes). What goes on is written by
/// the gateway: canonical chunks (`SIZE CRLF data CRLF`, no extensions, the trailer fields that may be trailers)
/// with ``Output/reframe``, only the data with ``Output/dechunk`` (for an HTTP/1.0 client). A body that runs until
/// the connection closes is relayed, or sent as chunks with ``Output/reframe``.
struct BodyReader {
    /// What the gateway sends for the body's bytes.
    enum Output {
        /// The bytes as they arrived (never for chunked bodies: those are always re-framed or de-chunked).
        case relay
        /// Canonical chunked framing.
        case reframe
        /// The data alone.
        case dechunk
    }

    /// The most bytes of chunk extensions a chunk may carry.
    static let extensionLimit = 4_096

    private enum Chunked {
        case size(value: Int, digits: Int)
        /// Right after a size, an extension without a value, or a value: whitespace, `;` or CR.
        case extensionEnd
        /// Right after an extension name: as ``extensionEnd``, or `=`.
        case nameEnd
        /// Whitespace after a size, name or value (BWS): more of it, `;`, or `=` after a name; never CR.
        case extensionSpace(afterName: Bool)
        case extensionNameStart
        case extensionName
        case extensionValueStart
        case extensionToken
        case extensionQuoted
        case extensionQuotedEscape
        case sizeLF
        case data(Int)
        case dataCR
        case dataLF
        /// At the start of a trailer line, or of the empty line that ends the body.
        case trailerLine
        case trailerLF
        case finalLF
    }

    private let framing: HTTP1.Framing
    private let output: Output
    private var remaining = 0
    private var chunked = Chunked.size(value: 0, digits: 0)
    private var chunkSize = 0
    private var extensionBytes = 0
    /// The trailer line being read, and the trailer section so far (as canonical lines to send).
    private var trailerLine: [UInt8] = []
    private var trailerBytes = 0
    private var trailerFields = 0
    private var trailers: [UInt8] = []

    init(_ framing: HTTP1.Framing, output: Output = .relay) {
        self.framing = framing
        // Chunked bytes are never relayed as received.
        self.output = framing == .chunked && output == .relay ? .reframe : output
        if case .length(let length) = framing { remaining = length }
    }

    /// Takes the body's bytes from the front of `buffer` and appends what the gateway sends for them to
    /// `slices`. Returns true when the body has ended; `buffer` then holds what follows the message.
    mutating func read(
        _ buffer: inout ByteBuffer, into slices: inout [ByteBuffer], allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(HTTP1.ParseError) -> Bool {
        switch framing {
        case .none:
            return true
        case .untilClose:
            guard buffer.readableBytes > 0, let slice = buffer.readSlice(length: buffer.readableBytes) else { return false }
            if output == .reframe { slices.append(Self.chunkHeader(slice.readableBytes, allocator: allocator)) }
            slices.append(slice)
            if output == .reframe { slices.append(Self.crlf(allocator)) }
            return false
        case .length:
            let count = min(remaining, buffer.readableBytes)
            if count > 0, let slice = buffer.readSlice(length: count) { slices.append(slice) }
            remaining -= count
            return remaining == 0
        case .chunked:
            return try readChunked(&buffer, into: &slices, allocator: allocator)
        }
    }

    /// The body ends when the connection closes.
    var runsUntilClose: Bool { framing == .untilClose }

    /// What ends a body that ran until the connection closed: the last chunk when it was sent as chunks.
    func finish(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer? {
        guard framing == .untilClose, output == .reframe else { return nil }
        var buffer = allocator.buffer(capacity: 5)
        buffer.writeStaticString("0\r\n\r\n")
        return buffer
    }

    private mutating func readChunked(
        _ buffer: inout ByteBuffer, into slices: inout [ByteBuffer], allocator: ByteBufferAllocator
    ) throws(HTTP1.ParseError) -> Bool {
        var done = false
        var dataRanges: [Range<Int>] = []
        let consumed = try buffer.withUnsafeReadableBytes { (bytes) throws(HTTP1.ParseError) -> Int in
            var index = 0
            while index < bytes.count, !done {
                if case .data(let left) = chunked {
                    let count = min(left, bytes.count - index)
                    dataRanges.append(index..<index + count)
                    index += count
                    chunked = left == count ? .dataCR : .data(left - count)
                    continue
                }
                done = try step(bytes[index])
                index += 1
            }
            return index
        }
        let start = buffer.readerIndex
        for range in dataRanges where !range.isEmpty {
            guard let slice = buffer.getSlice(at: start + range.lowerBound, length: range.count) else { continue }
            if output == .reframe { slices.append(Self.chunkHeader(range.count, allocator: allocator)) }
            slices.append(slice)
            if output == .reframe { slices.append(Self.crlf(allocator)) }
        }
        buffer.moveReaderIndex(forwardBy: consumed)
        if done, output == .reframe {
            var last = allocator.buffer(capacity: 5 + trailers.count)
            last.writeStaticString("0\r\n")
            last.writeBytes(trailers)
            last.writeStaticString("\r\n")
            slices.append(last)
        }
        return done
    }

    /// One byte of chunked framing outside chunk data; true when the body has ended.
    private mutating func step(_ byte: UInt8) throws(HTTP1.ParseError) -> Bool {
        switch chunked {
        case .size(let value, let digits):
            if let digit = byte.hexValue {
                guard digits < 15 else { throw .malformed("chunk size too large") }
                chunked = .size(value: value * 16 + digit, digits: digits + 1)
                return false
            }
            guard digits > 0 else { throw .malformed("bad chunk size") }
            chunkSize = value
            extensionBytes = 0
            try end(byte, afterName: false)
        case .extensionEnd:
            try end(byte, afterName: false)
        case .nameEnd:
            try end(byte, afterName: true)
        case .extensionSpace(let afterName):
            try countExtension()
            if byte.isSpace { return false }
            if byte == UInt8(ascii: ";") {
                chunked = .extensionNameStart
            } else if afterName, byte == UInt8(ascii: "=") {
                chunked = .extensionValueStart
            } else {
                throw .malformed("bad chunk extension")
            }
        case .extensionNameStart:
            try countExtension()
            if byte.isSpace { return false }
            guard HTTP1.isTokenByte(byte) else { throw .malformed("bad chunk extension") }
            chunked = .extensionName
        case .extensionName:
            try countExtension()
            if HTTP1.isTokenByte(byte) { return false }
            try end(byte, afterName: true)
        case .extensionValueStart:
            try countExtension()
            if byte.isSpace { return false }
            if byte == UInt8(ascii: "\"") {
                chunked = .extensionQuoted
            } else {
                guard HTTP1.isTokenByte(byte) else { throw .malformed("bad chunk extension value") }
                chunked = .extensionToken
            }
        case .extensionToken:
            try countExtension()
            if HTTP1.isTokenByte(byte) { return false }
            try end(byte, afterName: false)
        case .extensionQuoted:
            try countExtension()
            if byte == UInt8(ascii: "\"") {
                chunked = .extensionEnd
            } else if byte == UInt8(ascii: "\\") {
                chunked = .extensionQuotedEscape
            } else {
                guard byte == 0x09 || byte >= 0x20 && byte != 0x7F else { throw .malformed("bad quoted chunk extension") }
            }
        case .extensionQuotedEscape:
            try countExtension()
            guard byte == 0x09 || byte >= 0x20 && byte != 0x7F else { throw .malformed("bad quoted chunk extension") }
            chunked = .extensionQuoted
        case .sizeLF:
            guard byte == UInt8(ascii: "\n") else { throw .malformed("a chunk size line without CRLF") }
            chunked = chunkSize == 0 ? .trailerLine : .data(chunkSize)
        case .data:
            break  // handled by the caller, many bytes at a time
        case .dataCR:
            guard byte == UInt8(ascii: "\r") else { throw .malformed("chunk data longer than its size") }
            chunked = .dataLF
        case .dataLF:
            guard byte == UInt8(ascii: "\n") else { throw .malformed("chunk data without CRLF") }
            chunked = .size(value: 0, digits: 0)
        case .trailerLine:
            trailerBytes += 1
            guard trailerBytes <= HTTP1.headLimit else { throw .malformed("trailer section too large") }
            if byte == UInt8(ascii: "\r") {
                chunked = trailerLine.isEmpty ? .finalLF : .trailerLF
            } else {
                guard byte != UInt8(ascii: "\n") else { throw .malformed("a trailer line ending in LF without CR") }
                trailerLine.append(byte)
            }
        case .trailerLF:
            guard byte == UInt8(ascii: "\n") else { throw .malformed("a CR not followed by LF in the trailers") }
            try takeTrailerLine()
            chunked = .trailerLine
        case .finalLF:
            guard byte == UInt8(ascii: "\n") else { throw .malformed("bad end of chunked body") }
            return true
        }
        return false
    }

    /// After a size, name or value with nothing between: whitespace, `;` (another extension), `=` after a name, or
    /// CR (the end of the line).
    private mutating func end(_ byte: UInt8, afterName: Bool) throws(HTTP1.ParseError) {
        if byte.isSpace {
            try countExtension()
            chunked = .extensionSpace(afterName: afterName)
        } else if byte == UInt8(ascii: ";") {
            try countExtension()
            chunked = .extensionNameStart
        } else if afterName, byte == UInt8(ascii: "=") {
            try countExtension()
            chunked = .extensionValueStart
        } else if byte == UInt8(ascii: "\r") {
            chunked = .sizeLF
        } else {
            throw .malformed(byte == UInt8(ascii: "\n") ? "a chunk size line ending in LF without CR" : "bad chunk size line")
        }
    }

    private mutating func countExtension() throws(HTTP1.ParseError) {
        extensionBytes += 1
        guard extensionBytes <= Self.extensionLimit else { throw .malformed("chunk extensions too long") }
    }

    /// A trailer field, validated as a header field; kept (as `name: value` CRLF) unless it may not be a trailer
    /// (RFC 9110 §6.5.1: framing, routing and connection fields).
    private mutating func takeTrailerLine() throws(HTTP1.ParseError) {
        trailerFields += 1
        guard trailerFields <= HTTP1.fieldLimit else { throw .malformed("too many trailer fields") }
        let line = trailerLine
        trailerLine.removeAll(keepingCapacity: true)
        let field = try line.withUnsafeBufferPointer { (buffer) throws(HTTP1.ParseError) in
            try HTTP1.field(buffer, 0..<buffer.count)
        }
        guard field.kind == .other else { return }
        trailers += line[field.name]
        trailers += Array(": ".utf8)
        trailers += line[field.value]
        trailers += [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
    }

    private static func chunkHeader(_ size: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 18)
        buffer.writeString(String(size, radix: 16, uppercase: true))
        buffer.writeStaticString("\r\n")
        return buffer
    }

    private static func crlf(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 2)
        buffer.writeStaticString("\r\n")
        return buffer
    }
}
