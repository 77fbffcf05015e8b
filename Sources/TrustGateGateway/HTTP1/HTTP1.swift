import NIOCore

/// HTTP/1.1 message heads (RFC 9112, RFC 9110) on raw bytes, for the proxy's data path.
///
/// A head is parsed once, strictly, and every decision about it is made then: lines end in CRLF (a bare CR or LF
/// is refused), field names are tokens with no whitespace before the colon, obs-fold is refused, values hold no
/// NUL, CR or LF, at most ``fieldLimit`` fields and ``headLimit`` bytes. The gateway then writes the message it
/// forwards from what it parsed (``HTTP1/Request``, ``BodyReader``), never the bytes as received, so a backend
/// reads exactly what the gateway understood.
enum HTTP1 {
    /// Why a message was refused; for requests, the status the client gets.
    enum ParseError: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        case headTooLarge
        case tooManyFields
        case unsupportedVersion
        case unsupportedTransferCoding

        var status: (code: Int, reason: String) {
            switch self {
            case .malformed: (400, "Bad Request")
            case .headTooLarge, .tooManyFields: (431, "Request Header Fields Too Large")
            case .unsupportedVersion: (505, "HTTP Version Not Supported")
            case .unsupportedTransferCoding: (501, "Not Implemented")
            }
        }

        var description: String {
            switch self {
            case .malformed(let detail): "malformed HTTP message: \(detail)"
            case .headTooLarge: "message head larger than \(HTTP1.headLimit) bytes"
            case .tooManyFields: "more than \(HTTP1.fieldLimit) header fields"
            case .unsupportedVersion: "HTTP version other than 1.0 or 1.1"
            case .unsupportedTransferCoding: "transfer coding other than chunked"
            }
        }
    }

    /// The largest head accepted (request line or status line and fields), as NIO's and nginx's limits of the
    /// same order.
    static let headLimit = 65_536
    /// The most field lines a head may have, as HAProxy's 101.
    static let fieldLimit = 100

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

        /// The kind of the field named `bytes` (ASCII case-insensitive; never Unicode case mapping).
        static func classify(_ bytes: UnsafeBufferPointer<UInt8>) -> FieldKind {
            guard bytes.count < byLength.count else { return .other }
            for (name, kind) in byLength[bytes.count] where zip(bytes, name).allSatisfy({ $0.asciiLowercased == $1 }) {
                return kind
            }
            return .other
        }
    }

    /// Whether `bytes` is `lowercase` in ASCII without regard to case.
    static func equalsLowercase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { zip(bytes, $0).allSatisfy { $0.asciiLowercased == $1 } }
    }

    /// Whether `bytes` (a slice of the head) is `lowercase` in ASCII without regard to case.
    static func equalsLowercase(_ bytes: ArraySlice<UInt8>, _ lowercase: StaticString) -> Bool {
        bytes.withUnsafeBufferPointer { equalsLowercase($0, lowercase) }
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
        /// What the Connection fields say (read once, at parse time).
        let connection: ConnectionOptions

        func string(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

        var method: String { string(first) }
        var target: String { string(second) }
        var isHEAD: Bool { bytes[first].elementsEqual("HEAD".utf8) }

        func values(_ kind: FieldKind) -> [String] { fields.lazy.filter { $0.kind == kind }.map { string($0.value) } }

        func has(_ kind: FieldKind) -> Bool { fields.contains { $0.kind == kind } }

        /// HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
        var isKeepAlive: Bool { minorVersion == 1 ? !connection.close : connection.keepAlive }

        /// Whether the Connection fields nominate `field` as connection-specific (never a framing, routing or
        /// hop-by-hop field: those are handled by kind).
        func isNominated(_ field: Field) -> Bool {
            guard !connection.nominated.isEmpty, field.kind == .other else { return false }
            return connection.nominated.contains(ConnectionOptions.lowercased(bytes[field.name]))
        }

        /// Appends the fields to `buffer` as `name: value` lines, except those the Connection fields nominate and
        /// those `drop` refuses.
        func writeFields(into buffer: inout ByteBuffer, dropping drop: (Field) -> Bool) {
            for field in fields where !drop(field) && !isNominated(field) {
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

    /// Parses a complete head (as `HeadReader` cut it, ending with an empty line). Work is linear in the head's
    /// size, and the field count is checked as lines are found.
    static func parse(_ bytes: [UInt8], request: Bool) throws(ParseError) -> Head {
        try bytes.withUnsafeBufferPointer { (buffer) throws(ParseError) -> Head in
            guard buffer.count <= headLimit else { throw .headTooLarge }
            let lines = try self.lines(buffer)
            guard let line = lines.first, !line.isEmpty, lines.count >= 2, lines.last?.isEmpty == true else {
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
                        connection: connection ? try ConnectionOptions(buffer, fields) : ConnectionOptions())
        }
    }

    /// The lines of a head, each without its CRLF. A CR not followed by LF, or an LF without its CR, is refused:
    /// a reader downstream that ended lines differently would see other fields (RFC 9112 §2.2).
    private static func lines(_ buffer: UnsafeBufferPointer<UInt8>) throws(ParseError) -> [Range<Int>] {
        var lines: [Range<Int>] = []
        var start = 0
        var index = 0
        while index < buffer.count {
            switch buffer[index] {
            case UInt8(ascii: "\r"):
                guard index + 1 < buffer.count, buffer[index + 1] == UInt8(ascii: "\n") else {
                    throw .malformed("a CR not followed by LF")
                }
                lines.append(start..<index)
                // The start line, the fields, the empty line: more lines than that is over the field limit.
                guard lines.count <= fieldLimit + 2 else { throw .tooManyFields }
                index += 2
                start = index
            case UInt8(ascii: "\n"):
                throw .malformed("a line ending in LF without CR")
            default:
                index += 1
            }
        }
        guard start == buffer.count else { throw .malformed("a head that does not end with CRLF") }
        return lines
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
            // method SP request-target SP HTTP-version, single spaces.
            guard let space1 = buffer[line].firstIndex(of: UInt8(ascii: " ")), space1 > line.lowerBound,
                let space2 = buffer[(space1 + 1)..<line.upperBound].firstIndex(of: UInt8(ascii: " ")), space2 > space1 + 1
            else { throw .malformed("bad request line") }
            // As nginx: a method is upper-case letters, `-` and `_` (a lower-case `get` is not GET).
            guard buffer[line.lowerBound..<space1].allSatisfy({ $0.isUppercaseLetter || $0 == 0x2D || $0 == 0x5F }) else {
                throw .malformed("bad method")
            }
            guard buffer[(space1 + 1)..<space2].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
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
        guard status >= 100 else { throw .malformed("bad status code") }
        let reason = min(code + 4, line.upperBound)..<line.upperBound
        guard buffer[reason].allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 || $0 >= 0x80 }) else {
            throw .malformed("bad reason phrase")
        }
        return (code..<code + 3, reason, status, minor)
    }

    /// `field-name ":" OWS field-value OWS`; no whitespace before the colon, no obs-fold (RFC 9112 §5).
    static func field(_ buffer: UnsafeBufferPointer<UInt8>, _ line: Range<Int>) throws(ParseError) -> Field {
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
}

extension UInt8 {
    var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
    var isSpace: Bool { self == UInt8(ascii: " ") || self == UInt8(ascii: "\t") }
    var isUppercaseLetter: Bool { self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z") }
    /// ASCII letters lowered; every other byte as it is (no Unicode case mapping: `K` U+212A stays itself).
    var asciiLowercased: UInt8 { self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z") ? self | 0x20 : self }
    var hexValue: Int? {
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
