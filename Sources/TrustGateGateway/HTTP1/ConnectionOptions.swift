/// The tokens of a head's Connection fields (RFC 9110 §7.6.1): `close`, `keep-alive`, and the names of further
/// fields the sender marks as connection-specific, which are not forwarded.
///
/// A token may never remove a field the gateway frames or routes by: `Content-Length`, `Transfer-Encoding` and
/// `Host` named in Connection are ignored (with them removed, a backend would read the body as the next
/// request). Fields the gateway handles by kind anyway (hop-by-hop, X-Forwarded-*) are ignored too. Parsing is
/// one pass with at most ``tokenLimit`` tokens.
struct ConnectionOptions {
    /// The most tokens a head's Connection fields may carry together (real clients send one or two).
    static let tokenLimit = 64

    var close = false
    var keepAlive = false
    /// The `upgrade` option (RFC 9110 §7.8): the Upgrade field is meant for this hop.
    var upgrade = false
    /// Lower-cased names of other fields that are connection-specific; usually empty.
    var nominated: Set<[UInt8]> = []

    init() {}

    init(_ bytes: UnsafeBufferPointer<UInt8>, _ fields: [HTTP1.Field]) throws(HTTP1.ParseError) {
        var tokens = 0
        for field in fields where field.kind == .connection {
            for element in bytes[field.value].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                var token = element[...]
                while let first = token.first, first.isSpace { token = token.dropFirst() }
                while let last = token.last, last.isSpace { token = token.dropLast() }
                guard !token.isEmpty else { continue }  // empty list elements are allowed (RFC 9110 §5.6.1)
                tokens += 1
                guard tokens <= Self.tokenLimit else { throw .malformed("more than \(Self.tokenLimit) Connection options") }
                guard token.allSatisfy(HTTP1.isTokenByte) else { throw .malformed("bad Connection option") }
                let name = UnsafeBufferPointer(rebasing: token)
                if HTTP1.equalsLowercase(name, "close") {
                    close = true
                } else if HTTP1.equalsLowercase(name, "keep-alive") {
                    keepAlive = true
                } else if HTTP1.equalsLowercase(name, "upgrade") {
                    upgrade = true
                } else if HTTP1.FieldKind.classify(name) == .other {
                    nominated.insert(Self.lowercased(token))
                }
            }
        }
    }

    /// ASCII lower case of a field name, for lookups in ``nominated``.
    static func lowercased<Bytes: Collection<UInt8>>(_ name: Bytes) -> [UInt8] {
        name.map(\.asciiLowercased)
    }
}
