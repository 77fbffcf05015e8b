extension HTTP1 {
    /// How a message's body is delimited (RFC 9112 §6.3): decided once per message, from the parsed head.
    enum Framing: Equatable {
        case none
        case length(Int)
        case chunked
        /// The body runs until the sender closes the connection (responses only).
        case untilClose

        /// Whether body bytes follow the head (a Content-Length of 0 frames an empty body).
        var hasBody: Bool {
            switch self {
            case .none, .length(0): false
            default: true
            }
        }
    }

    /// The most digits a Content-Length may have: 18 digits cannot overflow an `Int`.
    static let contentLengthDigits = 18

    /// A request's framing (RFC 9112 §6.1–6.3, HAProxy's and nginx's strictness where the RFC lets a server choose):
    /// - Transfer-Encoding, all its fields together, must be exactly `chunked` (ASCII case-insensitive): another
    ///   coding is 501; an empty element, `chunked` twice or not last is 400; with Content-Length 400; in an
    ///   HTTP/1.0 request 400.
    /// - Content-Length: 1*DIGIT; several fields or a list of one value repeated are that value; differing
    ///   values are 400.
    static func requestFraming(_ head: Head) throws(ParseError) -> Framing {
        if head.has(.transferEncoding) {
            guard !head.has(.contentLength) else { throw .malformed("both Transfer-Encoding and Content-Length") }
            guard head.minorVersion == 1 else { throw .malformed("Transfer-Encoding in an HTTP/1.0 request") }
            guard try isChunked(head) else { throw .unsupportedTransferCoding }
            return .chunked
        }
        guard let length = try contentLength(head) else { return .none }
        return .length(length)
    }

    /// A response's framing, given whether it answers a HEAD request; as nginx reads a backend: Transfer-Encoding
    /// exactly `chunked`, never with Content-Length; Content-Length as for requests. Anything else is refused
    /// (the client gets 502 and the connection to the backend is closed).
    static func responseFraming(_ head: Head, toHEAD: Bool) throws(ParseError) -> Framing {
        let bodiless = toHEAD || head.status == 204 || head.status == 304 || head.status < 200
        if head.has(.transferEncoding) {
            guard !head.has(.contentLength) else { throw .malformed("both Transfer-Encoding and Content-Length") }
            guard head.minorVersion == 1 else { throw .malformed("Transfer-Encoding in an HTTP/1.0 response") }
            guard try isChunked(head) else { throw .malformed("a transfer coding other than chunked") }
            return bodiless ? .none : .chunked
        }
        let length = try contentLength(head)
        if bodiless { return .none }
        guard let length else { return .untilClose }
        return .length(length)
    }

    /// Whether the Transfer-Encoding fields, taken together, are exactly `chunked`. False for a list of codings
    /// that ends in chunked (the client gets 501); thrown for one that cannot frame a message.
    private static func isChunked(_ head: Head) throws(ParseError) -> Bool {
        var codings = 0
        var chunked = 0
        var lastIsChunked = false
        for field in head.fields where field.kind == .transferEncoding {
            for element in head.bytes[field.value].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                var coding = element[...]
                while let first = coding.first, first.isSpace { coding = coding.dropFirst() }
                while let last = coding.last, last.isSpace { coding = coding.dropLast() }
                guard !coding.isEmpty else { throw .malformed("an empty Transfer-Encoding element") }
                codings += 1
                lastIsChunked = equalsLowercase(coding, "chunked")
                if lastIsChunked { chunked += 1 }
            }
        }
        guard codings > 0 else { throw .malformed("an empty Transfer-Encoding") }
        guard chunked <= 1 else { throw .malformed("chunked applied twice") }
        guard chunked == 0 || lastIsChunked else { throw .malformed("chunked is not the last transfer coding") }
        return codings == 1 && chunked == 1
    }

    /// Content-Length: each field a list of 1*DIGIT values, all of them the same.
    static func contentLength(_ head: Head) throws(ParseError) -> Int? {
        var length: Int?
        for field in head.fields where field.kind == .contentLength {
            for element in head.bytes[field.value].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                var digits = element[...]
                while let first = digits.first, first.isSpace { digits = digits.dropFirst() }
                while let last = digits.last, last.isSpace { digits = digits.dropLast() }
                guard !digits.isEmpty, digits.count <= contentLengthDigits, digits.allSatisfy(\.isDigit) else {
                    throw .malformed("bad Content-Length")
                }
                let value = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
                guard length == nil || length == value else { throw .malformed("conflicting Content-Length values") }
                length = value
            }
        }
        return length
    }
}
