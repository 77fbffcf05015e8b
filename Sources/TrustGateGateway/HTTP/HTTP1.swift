import NIOCore

/// HTTP/1.1 message heads and body framing (RFC 9112) on raw bytes, for the proxy's data path.
///
/// The gateway parses a head once, rewrites it by copying the byte ranges of the fields it keeps, and relays
/// bodies as the bytes that arrived (chunked framing included), tracking only where each message ends. This
/// avoids decoding every message into `HTTPHeaders` and encoding it again on the other side, which cost more
/// than half of the gateway's CPU per keep-alive request (see `Benchmarks/README.md`).
enum HTTP1 {
    /// Why a message was refused; for requests, the status the client gets.
    enum ParseError: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        case headTooLarge
        case unsupportedVersion
        case unsupportedTransferCoding

        var status: (code: Int, reason: String) {
            switch self {
            case .malformed: (400, "Bad Request")
            case .headTooLarge: (431, "Request Header Fields Too Large")
            case .unsupportedVersion: (505, "HTTP Version Not Supported")
            case .unsupportedTransferCoding: (501, "Not Implemented")
            }
        }

        var description: String {
            switch self {
            case .malformed(let detail): "malformed HTTP message: \(detail)"
            case .headTooLarge: "message head larger than \(HTTP1.headLimit) bytes"
            case .unsupportedVersion: "HTTP version other than 1.0 or 1.1"
            case .unsupportedTransferCoding: "transfer coding other than chunked"
            }
        }
    }

    /// The largest head accepted (request line or status line and fields), as NIO's and nginx's limits of the
    /// same order.
    static let headLimit = 65_536

    /// The fields the gateway acts on; everything else is `.other` and passes through.
    enum FieldKind: UInt8 {
        case other, host, connection, keepAlive, proxyConnection, te, trailer, upgrade, proxyAuthenticate
        case proxyAuthorization, transferEncoding, contentLength, expect, xForwardedFor, xForwardedProto
        case xForwardedPort, xForwardedHost, xOriginalHost

        /// Connection-specific (RFC 9110 §7.6.1): never forwarded.
        var isHopByHop: Bool {
            switch self {
            case .connection, .keepAlive, .proxyConnection, .te, .trailer, .upgrade, .proxyAuthenticate,
                .proxyAuthorization:
                true
            default: false
            }
        }

        /// Set by the gateway: the client's own values are replaced (X-Forwarded-For is appended to).
        var isForwarding: Bool {
            switch self {
            case .xForwardedFor, .xForwardedProto, .xForwardedPort, .xForwardedHost, .xOriginalHost: true
            default: false
            }
        }

        private static let names: [(String, FieldKind)] = [
            ("host", .host), ("connection", .connection), ("keep-alive", .keepAlive),
            ("proxy-connection", .proxyConnection), ("te", .te), ("trailer", .trailer), ("upgrade", .upgrade),
            ("proxy-authenticate", .proxyAuthenticate), ("proxy-authorization", .proxyAuthorization),
            ("transfer-encoding", .transferEncoding), ("content-length", .contentLength), ("expect", .expect),
            ("x-forwarded-for", .xForwardedFor), ("x-forwarded-proto", .xForwardedProto),
            ("x-forwarded-port", .xForwardedPort), ("x-forwarded-host", .xForwardedHost),
            ("x-original-host", .xOriginalHost),
        ]
        /// By name length, the lowercase names of that length.
        private static let byLength: [[([UInt8], FieldKind)]] = {
            var table = [[([UInt8], FieldKind)]](repeating: [], count: 20)
            for (name, kind) in names { table[name.utf8.count].append((Array(name.utf8), kind)) }
            return table
        }()

        static func classify(_ bytes: UnsafeBufferPointer<UInt8>) -> FieldKind {
            guard bytes.count < byLength.count else { return .other }
            for (name, kind) in byLength[bytes.count] where zip(bytes, name).allSatisfy({ ($0 | 0x20) == $1 }) {
                return kind
            }
            return .other
        }
    }

    /// The tokens of the Connection fields: close, keep-alive, and the names of other fields that are
    /// connection-specific (RFC 9110 §7.6.1), lowercased; usually there are none.
    struct ConnectionOptions {
        var close = false
        var keepAlive = false
        var otherNames: [String] = []

        init() {}

        init(_ bytes: UnsafeBufferPointer<UInt8>, _ fields: [Field]) {
            for field in fields where field.kind == .connection {
                for token in bytes[field.value].split(separator: UInt8(ascii: ",")) {
                    var token = token[...]
                    while let first = token.first, first == 0x20 || first == 0x09 { token = token.dropFirst() }
                    while let last = token.last, last == 0x20 || last == 0x09 { token = token.dropLast() }
                    guard !token.isEmpty else { continue }
                    let name = UnsafeBufferPointer(rebasing: token)
                    if HTTP1.equalsLowercase(name, "close") {
                        close = true
                    } else if HTTP1.equalsLowercase(name, "keep-alive") {
                        keepAlive = true
                    } else if !FieldKind.classify(name).isHopByHop, !HTTP1.equalsLowercase(name, "transfer-encoding") {
                        otherNames.append(String(decoding: name, as: UTF8.self).lowercased())
                    }
                }
            }
        }
    }

    /// Whether `bytes` is `lowercase` in ASCII without regard to case.
    static func equalsLowercase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { zip(bytes, $0).allSatisfy { ($0 | 0x20) == $1 } }
    }

    struct Field {
        var name: Range<Int>
        var value: Range<Int>
        var kind: FieldKind
    }

    /// A parsed head: the bytes as received and the ranges of its parts.
    struct Head {
        let bytes: [UInt8]
        /// Request: method and target. Response: status code and reason phrase.
        let first: Range<Int>
        let second: Range<Int>
        let status: Int
        /// 0 for HTTP/1.0, 1 for HTTP/1.1.
        let minorVersion: Int
        let fields: [Field]

        func string(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

        var method: String { string(first) }
        var target: String { string(second) }
        var isHEAD: Bool { bytes[first].elementsEqual("HEAD".utf8) }

        func values(_ kind: FieldKind) -> [String] { fields.lazy.filter { $0.kind == kind }.map { string($0.value) } }

        func has(_ kind: FieldKind) -> Bool { fields.contains { $0.kind == kind } }

        /// What the Connection fields say (read once, at parse time).
        let connection: ConnectionOptions

        /// HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
        var isKeepAlive: Bool { minorVersion == 1 ? !connection.close : connection.keepAlive }

        /// Appends the fields to `buffer` as `name: value` lines, except those `drop` refuses.
        func writeFields(into buffer: inout ByteBuffer, dropping drop: (Field) -> Bool) {
            let extra = connection.otherNames
            for field in fields where !drop(field) {
                if !extra.isEmpty, extra.contains(string(field.name).lowercased()) { continue }
                buffer.writeBytes(bytes[field.name])
                buffer.writeStaticString(": ")
                buffer.writeBytes(bytes[field.value])
                buffer.writeStaticString("\r\n")
            }
        }
    }

    // MARK: Parsing heads

    /// `tchar` of RFC 9110 §5.6.2: the characters of methods and field names.
    private static let isToken: [Bool] = (0..<256).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: "!#$%&'*+-.^_`|~".utf8.contains(UInt8(byte))
        }
    }

    static func isTokenByte(_ byte: UInt8) -> Bool { isToken[Int(byte)] }

    /// Parses a complete head (as `HeadReader` cut it, ending with an empty line).
    static func parse(_ bytes: [UInt8], request: Bool) throws(ParseError) -> Head {
        try bytes.withUnsafeBufferPointer { (buffer) throws(ParseError) -> Head in
            // The lines, each without its LF and an optional CR before it.
            var lines: [Range<Int>] = []
            var start = 0
            for index in buffer.indices where buffer[index] == UInt8(ascii: "\n") {
                let end = index > start && buffer[index - 1] == UInt8(ascii: "\r") ? index - 1 : index
                lines.append(start..<end)
                start = index + 1
            }
            guard let line = lines.first, !line.isEmpty, lines.last?.isEmpty == true else {
                throw .malformed("no start line")
            }
            let parts = try startLine(buffer, line, request: request)
            var fields: [Field] = []
            fields.reserveCapacity(lines.count - 2)
            var connection = false
            for line in lines.dropFirst().dropLast() {
                let field = try field(buffer, line)
                connection = connection || field.kind == .connection
                fields.append(field)
            }
            return Head(bytes: bytes, first: parts.first, second: parts.second, status: parts.status,
                        minorVersion: parts.minor, fields: fields,
                        connection: connection ? ConnectionOptions(buffer, fields) : ConnectionOptions())
        }
    }

    private static func startLine(
        _ buffer: UnsafeBufferPointer<UInt8>, _ line: Range<Int>, request: Bool
    ) throws(ParseError) -> (first: Range<Int>, second: Range<Int>, status: Int, minor: Int) {
        func version(at index: Int) throws(ParseError) -> Int {
            guard index + 8 <= line.upperBound, buffer[index..<index + 5].elementsEqual("HTTP/".utf8),
                buffer[index + 5].isDigit, buffer[index + 6] == UInt8(ascii: "."), buffer[index + 7].isDigit
            else { throw .malformed("bad HTTP version") }
            guard buffer[index + 5] == UInt8(ascii: "1"), buffer[index + 7] <= UInt8(ascii: "1") else {
                throw .unsupportedVersion
            }
            return Int(buffer[index + 7] - UInt8(ascii: "0"))
        }
        if request {
            // method SP request-target SP HTTP-version
            guard let space1 = buffer[line].firstIndex(of: UInt8(ascii: " ")), space1 > line.lowerBound,
                let space2 = buffer[(space1 + 1)..<line.upperBound].firstIndex(of: UInt8(ascii: " ")), space2 > space1 + 1
            else { throw .malformed("bad request line") }
            guard buffer[line.lowerBound..<space1].allSatisfy({ isToken[Int($0)] }) else { throw .malformed("bad method") }
            guard buffer[(space1 + 1)..<space2].allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else {
                throw .malformed("bad request target")
            }
            let minor = try version(at: space2 + 1)
            guard space2 + 9 == line.upperBound else { throw .malformed("bad request line") }
            return (line.lowerBound..<space1, (space1 + 1)..<space2, 0, minor)
        }
        // HTTP-version SP status-code SP [reason-phrase]
        let minor = try version(at: line.lowerBound)
        let code = line.lowerBound + 9
        guard code + 3 <= line.upperBound, buffer[code - 1] == UInt8(ascii: " "),
            buffer[code..<code + 3].allSatisfy({ $0.isDigit }),
            code + 3 == line.upperBound || buffer[code + 3] == UInt8(ascii: " ")
        else { throw .malformed("bad status line") }
        let status = buffer[code..<code + 3].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        let reason = min(code + 4, line.upperBound)..<line.upperBound
        guard buffer[reason].allSatisfy({ $0 >= 0x20 || $0 == 0x09 }) else { throw .malformed("bad reason phrase") }
        return (code..<code + 3, reason, status, minor)
    }

    /// `field-name ":" OWS field-value OWS`; no whitespace before the colon, no obs-fold (RFC 9112 §5).
    private static func field(_ buffer: UnsafeBufferPointer<UInt8>, _ line: Range<Int>) throws(ParseError) -> Field {
        guard let colon = buffer[line].firstIndex(of: UInt8(ascii: ":")), colon > line.lowerBound else {
            throw .malformed(line.isEmpty || buffer[line.lowerBound].isSpace ? "obs-fold" : "field without a name")
        }
        let name = line.lowerBound..<colon
        guard buffer[name].allSatisfy({ isToken[Int($0)] }) else { throw .malformed("bad field name") }
        var start = colon + 1
        var end = line.upperBound
        while start < end, buffer[start].isSpace { start += 1 }
        while end > start, buffer[end - 1].isSpace { end -= 1 }
        guard buffer[start..<end].allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 || $0 >= 0x80 }) else {
            throw .malformed("bad field value")
        }
        let kind = FieldKind.classify(UnsafeBufferPointer(rebasing: buffer[name]))
        return Field(name: name, value: start..<end, kind: kind)
    }

    // MARK: Framing

    /// How a message's body is delimited (RFC 9112 §6.3).
    enum Framing: Equatable {
        case none
        case length(Int)
        case chunked
        /// The body runs until the sender closes the connection (responses only).
        case untilClose
    }

    /// A request's framing: chunked when Transfer-Encoding ends in chunked, else Content-Length, else none.
    /// Both together, differing lengths or a coding other than chunked are refused, as nginx refuses them.
    static func requestFraming(_ head: Head) throws(ParseError) -> Framing {
        if head.has(.transferEncoding) {
            guard !head.has(.contentLength) else { throw .malformed("both Transfer-Encoding and Content-Length") }
            guard head.minorVersion == 1 else { throw .malformed("Transfer-Encoding in an HTTP/1.0 request") }
            guard try isChunked(head) else { throw .unsupportedTransferCoding }
            return .chunked
        }
        guard let length = try contentLength(head) else { return .none }
        return length == 0 ? .none : .length(length)
    }

    /// A response's framing, given whether it answers a HEAD request.
    static func responseFraming(_ head: Head, toHEAD: Bool) throws(ParseError) -> Framing {
        if toHEAD || head.status == 204 || head.status == 304 || head.status < 200 { return .none }
        if head.has(.transferEncoding) {
            return try isChunked(head) ? .chunked : .untilClose
        }
        guard let length = try contentLength(head) else { return .untilClose }
        return length == 0 ? .none : .length(length)
    }

    private static func isChunked(_ head: Head) throws(ParseError) -> Bool {
        let codings = head.values(.transferEncoding).flatMap { $0.split(separator: ",") }
            .map { $0.trimmingASCIIWhitespace().lowercased() }
        guard let last = codings.last else { throw .malformed("empty Transfer-Encoding") }
        return last == "chunked" && codings.filter({ $0 == "chunked" }).count == 1
    }

    /// Content-Length: one value, or a list of one value repeated; digits only.
    private static func contentLength(_ head: Head) throws(ParseError) -> Int? {
        var length: Int?
        for field in head.fields where field.kind == .contentLength {
            for item in head.bytes[field.value].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                var value = 0
                var digits = 0
                for byte in item where byte != 0x20 && byte != 0x09 {
                    guard byte.isDigit, digits < 18 else { throw .malformed("bad Content-Length") }
                    value = value * 10 + Int(byte - UInt8(ascii: "0"))
                    digits += 1
                }
                guard digits > 0, item.drop(while: { $0 == 0x20 || $0 == 0x09 }).prefix(while: { $0.isDigit }).count == digits
                else { throw .malformed("bad Content-Length") }
                guard length == nil || length == value else { throw .malformed("conflicting Content-Length") }
                length = value
            }
        }
        return length
    }
}

// MARK: Cutting heads and bodies out of the byte stream

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

/// Follows a body through its framing: which of the bytes that arrive belong to it, and where it ends.
struct BodyReader {
    private enum Chunked {
        case size(value: Int, digits: Int)
        case extensions
        case sizeLF
        case data(Int)
        case dataCR
        case dataLF
        case trailerStart
        case trailer
        case finalLF
    }

    private var framing: HTTP1.Framing
    private var remaining = 0
    private var chunked = Chunked.size(value: 0, digits: 0)
    /// Bytes of the current chunk-size line or of the trailer section, bounded.
    private var lineBytes = 0
    /// Relay only the data of a chunked body, without its framing (for an HTTP/1.0 client).
    private let dechunk: Bool

    init(_ framing: HTTP1.Framing, dechunk: Bool = false) {
        self.framing = framing
        self.dechunk = dechunk && framing == .chunked
        if case .length(let length) = framing { remaining = length }
    }

    /// Takes the body's bytes from the front of `buffer` into `slices` (chunked framing included unless
    /// dechunking). Returns true when the body has ended; `buffer` then holds what follows the message.
    mutating func read(_ buffer: inout ByteBuffer, into slices: inout [ByteBuffer]) throws(HTTP1.ParseError) -> Bool {
        switch framing {
        case .none:
            return true
        case .untilClose:
            if buffer.readableBytes > 0, let slice = buffer.readSlice(length: buffer.readableBytes) { slices.append(slice) }
            return false
        case .length:
            let count = min(remaining, buffer.readableBytes)
            if count > 0, let slice = buffer.readSlice(length: count) { slices.append(slice) }
            remaining -= count
            return remaining == 0
        case .chunked:
            return try readChunked(&buffer, into: &slices)
        }
    }

    private mutating func readChunked(_ buffer: inout ByteBuffer, into slices: inout [ByteBuffer]) throws(HTTP1.ParseError) -> Bool {
        var done = false
        var dataRanges: [Range<Int>] = []
        let consumed = try buffer.withUnsafeReadableBytes { (bytes) throws(HTTP1.ParseError) -> Int in
            var index = 0
            while index < bytes.count, !done {
                let byte = bytes[index]
                switch chunked {
                case .size(let value, let digits):
                    if let digit = byte.hexValue {
                        guard digits < 15 else { throw .malformed("chunk size too large") }
                        chunked = .size(value: value * 16 + digit, digits: digits + 1)
                    } else if digits == 0 {
                        throw .malformed("bad chunk size")
                    } else if byte == UInt8(ascii: ";") || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                        remaining = value
                        chunked = .extensions
                    } else if byte == UInt8(ascii: "\r") {
                        remaining = value
                        chunked = .sizeLF
                    } else if byte == UInt8(ascii: "\n") {
                        chunked = value == 0 ? .trailerStart : .data(value)
                        lineBytes = 0
                    } else {
                        throw .malformed("bad chunk size")
                    }
                    index += 1
                case .extensions:
                    lineBytes += 1
                    guard lineBytes <= 4096 else { throw .malformed("chunk extensions too long") }
                    if byte == UInt8(ascii: "\r") {
                        chunked = .sizeLF
                    } else if byte == UInt8(ascii: "\n") {
                        chunked = remaining == 0 ? .trailerStart : .data(remaining)
                        lineBytes = 0
                    } else if byte < 0x20 && byte != 0x09 {
                        throw .malformed("bad chunk extension")
                    }
                    index += 1
                case .sizeLF:
                    guard byte == UInt8(ascii: "\n") else { throw .malformed("chunk size line without LF") }
                    chunked = remaining == 0 ? .trailerStart : .data(remaining)
                    lineBytes = 0
                    index += 1
                case .data(let left):
                    let count = min(left, bytes.count - index)
                    if dechunk { dataRanges.append(index..<index + count) }
                    index += count
                    chunked = left == count ? .dataCR : .data(left - count)
                case .dataCR:
                    if byte == UInt8(ascii: "\r") {
                        chunked = .dataLF
                    } else if byte == UInt8(ascii: "\n") {
                        chunked = .size(value: 0, digits: 0)
                    } else {
                        throw .malformed("chunk data longer than its size")
                    }
                    index += 1
                case .dataLF:
                    guard byte == UInt8(ascii: "\n") else { throw .malformed("chunk data longer than its size") }
                    chunked = .size(value: 0, digits: 0)
                    index += 1
                case .trailerStart:
                    if byte == UInt8(ascii: "\r") {
                        chunked = .finalLF
                    } else if byte == UInt8(ascii: "\n") {
                        done = true
                    } else {
                        chunked = .trailer
                        lineBytes += 1
                    }
                    index += 1
                case .trailer:
                    lineBytes += 1
                    guard lineBytes <= HTTP1.headLimit else { throw .malformed("trailer section too large") }
                    if byte == UInt8(ascii: "\n") { chunked = .trailerStart }
                    index += 1
                case .finalLF:
                    guard byte == UInt8(ascii: "\n") else { throw .malformed("bad end of chunked body") }
                    done = true
                    index += 1
                }
            }
            return index
        }
        if dechunk {
            for range in dataRanges where !range.isEmpty {
                if let slice = buffer.getSlice(at: buffer.readerIndex + range.lowerBound, length: range.count) {
                    slices.append(slice)
                }
            }
            buffer.moveReaderIndex(forwardBy: consumed)
        } else if consumed > 0, let slice = buffer.readSlice(length: consumed) {
            slices.append(slice)
        }
        return done
    }
}

extension UInt8 {
    fileprivate var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
    fileprivate var isSpace: Bool { self == UInt8(ascii: " ") || self == UInt8(ascii: "\t") }
    fileprivate var hexValue: Int? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(self - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(self - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(self - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (OWS).
    func trimmingASCIIWhitespace() -> Substring {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return slice
    }
}
