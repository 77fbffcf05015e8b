/// Cookie-based session affinity (Azure's "cookie-based affinity"): the cookie a request carries names its member;
/// a response from another member sets it anew.
enum AffinityCookie {
    /// The value of cookie `name` in the request's Cookie fields (`a=1; name=value`), if any.
    static func value(named name: String, in head: HTTP1.Head) -> String? {
        for field in head.fields where field.name.count == 6 {
            let isCookie = head.bytes.withUnsafeBufferPointer {
                HTTP1.equalsLowercase(UnsafeBufferPointer(rebasing: $0[field.name]), "cookie")
            }
            guard isCookie else { continue }
            for pair in head.string(field.value).split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingASCIIWhitespace() == name {
                    return String(parts[1].trimmingASCIIWhitespace())
                }
            }
        }
        return nil
    }

    /// The `Set-Cookie` field (with its CRLF) for `value`, or "" when the request already carried it.
    static func setCookie(
        _ affinity: GatewayConfiguration.Affinity, value: String, presented: String?, secure: Bool
    ) -> String {
        guard value != presented else { return "" }
        return "Set-Cookie: \(affinity.cookieName)=\(value); Path=/; HttpOnly"
            + (secure ? "; Secure" : "") + (affinity.sameSiteNone ? "; SameSite=None" : "") + "\r\n"
    }
}
