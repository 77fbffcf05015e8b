/// A request's target (RFC 9112 §3.2), read once and normalized once: the path it is routed by is the path it is
/// forwarded with, so a backend that resolves `/images/../admin` to `/admin` sees `/admin`, and the rule for
/// `/admin` decided where it goes.
///
/// - origin-form `/path?query`, absolute-form `http://authority/path?query` (its authority replaces Host, and
///   it is forwarded in origin-form), and `*` for OPTIONS; authority-form (CONNECT) and anything else is 400.
/// - ASCII visible characters only, no fragment, valid percent-encodings (never an encoded NUL); the path of
///   the characters RFC 3986 allows in one (no `\`, `|`, `{`, quotes); the query of any visible character.
/// - The path: percent-encoded unreserved characters decoded, other encodings kept with upper-case hex;
///   `//` merged (nginx's `merge_slashes`); `.` and `..` segments removed (RFC 3986 §5.2.4), `..` above the
///   root refused (as nginx). An encoded `/` or `\` (`%2F`, `%5C`) is 400 unless `allowEncodedSlashes` (then it
///   is kept encoded and matched as text); a `.` or `..` segment spelled with encodings (`%2e%2e`) is 400.
/// - The query is kept as it is.
struct RequestTarget: Equatable {
    enum Form: Equatable {
        case origin
        case absolute
        case asterisk
    }

    let form: Form
    /// The authority of an absolute-form target (`host[:port]`), which is the request's host.
    let authority: String?
    /// The normalized path (`*` for the asterisk form).
    let path: String
    /// The query, without its `?`.
    let query: String?

    /// The target as forwarded: origin-form (or `*`).
    var originForm: String { query.map { path + "?" + $0 } ?? path }

    init(_ bytes: ArraySlice<UInt8>, method: ArraySlice<UInt8>, allowEncodedSlashes: Bool = false) throws(HTTP1.ParseError) {
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), !bytes.contains(UInt8(ascii: "#")) else {
            throw .malformed("bad request target")
        }
        if bytes.elementsEqual("*".utf8) {
            guard method.elementsEqual("OPTIONS".utf8) else { throw .malformed("* is a target for OPTIONS only") }
            (form, authority, path, query) = (.asterisk, nil, "*", nil)
            return
        }
        var rest = bytes
        if rest.first == UInt8(ascii: "/") {
            form = .origin
            authority = nil
        } else {
            // absolute-form: http:// or https://, then an authority without user info.
            let lowered = rest.prefix(8).map(\.asciiLowercased)
            let scheme = lowered.starts(with: "https://".utf8) ? 8 : lowered.starts(with: "http://".utf8) ? 7 : 0
            guard scheme > 0 else { throw .malformed("a request target that is neither a path nor an http(s) URI") }
            rest = rest.dropFirst(scheme)
            let end = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? rest.endIndex
            let host = rest[rest.startIndex..<end]
            guard !host.contains(UInt8(ascii: "@")), HostField.isValid(host) else {
                throw .malformed("bad authority in the request target")
            }
            form = .absolute
            authority = String(decoding: host, as: UTF8.self)
            rest = rest[end...]
        }
        let questionMark = rest.firstIndex(of: UInt8(ascii: "?"))
        let rawPath = rest[rest.startIndex..<(questionMark ?? rest.endIndex)]
        query = questionMark.map { String(decoding: rest[rest.index(after: $0)...], as: UTF8.self) }
        path = try Self.normalize(rawPath, allowEncodedSlashes: allowEncodedSlashes)
    }

    /// `ALPHA / DIGIT / "-" / "." / "_" / "~"` (RFC 3986 §2.3).
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"): true
        default: false
        }
    }

    /// One segment of the path being normalized: its bytes, and whether a `.` in it was percent-encoded.
    private struct Segment {
        var bytes: [UInt8] = []
        var encodedDot = false
    }

    /// Decodes unreserved percent-encodings, merges slashes, removes dot segments; one pass over the bytes.
    static func normalize(_ raw: ArraySlice<UInt8>, allowEncodedSlashes: Bool) throws(HTTP1.ParseError) -> String {
        guard raw.first == UInt8(ascii: "/") else { return raw.isEmpty ? "/" : String(decoding: raw, as: UTF8.self) }
        var segments: [[UInt8]] = []
        var current = Segment()
        // Whether the normalized path ends with `/`: decided by the last segment (empty, `.` or `..`: yes).
        var trailingSlash = false

        func close(_ segment: Segment, last: Bool) throws(HTTP1.ParseError) {
            let isDot = segment.bytes == [UInt8(ascii: ".")]
            let isDotDot = segment.bytes == [UInt8(ascii: "."), UInt8(ascii: ".")]
            if isDot || isDotDot, segment.encodedDot { throw .malformed("an encoded dot segment in the path") }
            if isDotDot, segments.popLast() == nil { throw .malformed("a path above the root") }
            let kept = !(segment.bytes.isEmpty || isDot || isDotDot)
            if kept { segments.append(segment.bytes) }
            if last { trailingSlash = !kept }
        }

        var index = raw.index(after: raw.startIndex)
        while index < raw.endIndex {
            var byte = raw[index]
            if byte == UInt8(ascii: "/") {
                try close(current, last: false)
                current = Segment()
                index += 1
                continue
            }
            if byte == UInt8(ascii: "%") {
                guard index + 2 < raw.endIndex, let high = raw[index + 1].hexValue, let low = raw[index + 2].hexValue else {
                    throw .malformed("a bad percent-encoding in the path")
                }
                byte = UInt8(high << 4 | low)
                index += 3
                guard byte != 0 else { throw .malformed("an encoded NUL in the path") }
                if isUnreserved(byte) {
                    if byte == UInt8(ascii: ".") { current.encodedDot = true }
                    current.bytes.append(byte)
                } else {
                    // `%5C` too: a backend that reads `\` as `/` would see another path.
                    guard byte != UInt8(ascii: "/") && byte != UInt8(ascii: "\\") || allowEncodedSlashes else {
                        throw .malformed("an encoded slash in the path")
                    }
                    current.bytes += [UInt8(ascii: "%"), Self.hex(byte >> 4), Self.hex(byte & 0x0F)]
                }
                continue
            }
            // pchar (RFC 3986 §3.3): a `\`, `|`, `{` or a quote in a path is refused, since backends differ on
            // what it means (IIS reads `\` as `/`).
            guard isUnreserved(byte) || "!$&'()*+,;=:@".utf8.contains(byte) else {
                throw .malformed("a character that is not allowed in a path")
            }
            current.bytes.append(byte)
            index += 1
        }
        try close(current, last: true)
        var path: [UInt8] = [UInt8(ascii: "/")]
        for (position, segment) in segments.enumerated() {
            if position > 0 { path.append(UInt8(ascii: "/")) }
            path += segment
        }
        if trailingSlash, !segments.isEmpty { path.append(UInt8(ascii: "/")) }
        return String(decoding: path, as: UTF8.self)
    }

    private static func hex(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") + nibble - 10
    }
}
