import X509

/// Server identity checks (RFC 6125 §6 as the CA/Browser Forum baseline requirements narrow it).
///
/// - DNS and IP SANs are checked first; the subject CN is consulted only when the certificate has no DNS or IP
///   SAN at all (a legacy certificate), only when the caller allows it (the compatible profile), and then only for
///   an exact DNS match.
/// - A wildcard matches only as the whole left-most label (`*.example.test`), covers exactly one label, never a
///   partial label (`f*.example.test`), and never directly under a public suffix or a single label (`*.test`,
///   `*.co.uk`).
/// - An IP address matches only an IP SAN, byte for byte; a DNS SAN never matches an IP address.
/// - Comparison is ASCII case-insensitive; one trailing dot is ignored.
public enum HostnameMatcher {
    /// Whether `certificate` is valid for `identity`; with `commonNameFallback` false (the strict profile), its SANs
    /// alone decide, else a certificate without DNS or IP SANs is matched by its CN.
    public static func matches(
        _ certificate: ParsedCertificate, _ identity: ServerIdentity, commonNameFallback: Bool = true
    ) -> Bool {
        let names = certificate.subjectAlternativeNames
        let hasIdentitySAN = names.contains { name in
            if case .dnsName = name { return true }
            if case .ipAddress = name { return true }
            return false
        }
        switch identity {
        case .ip(let address):
            return names.contains { name in
                if case .ipAddress(let octets) = name { return Array(octets.bytes) == address }
                return false
            }
        case .dns(let host):
            guard let host = normalised(host), IPAddressBytes.parse(host) == nil else { return false }
            if hasIdentitySAN {
                return names.contains { name in
                    if case .dnsName(let pattern) = name { return dnsPattern(pattern, matches: host) }
                    return false
                }
            }
            return commonNameFallback && certificate.commonNames.contains { normalised($0) == host }
        }
    }

    /// Whether a SAN DNS pattern (possibly a wildcard) matches a normalised host name.
    public static func dnsPattern(_ rawPattern: String, matches host: String) -> Bool {
        guard let pattern = normalised(rawPattern) else { return false }
        if !pattern.contains("*") { return pattern == host }
        let patternLabels = pattern.split(separator: ".", omittingEmptySubsequences: false)
        let hostLabels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard patternLabels.first == "*", !patternLabels.dropFirst().contains(where: { $0.contains("*") }) else {
            return false  // partial-label or non-left-most wildcards are never honoured
        }
        let base = patternLabels.dropFirst().joined(separator: ".")
        guard patternLabels.count >= 3, !PublicSuffixes.isPublicSuffix(base) else { return false }
        guard hostLabels.count == patternLabels.count, let first = hostLabels.first, !first.isEmpty else {
            return false
        }
        return hostLabels.dropFirst().joined(separator: ".") == base
    }

    /// Lower-cased, one trailing dot removed; `nil` for an empty or non-ASCII name.
    static func normalised(_ name: String) -> String? {
        var name = name.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 < 0x80 }), !name.hasSuffix(".") else { return nil }
        return name
    }
}

/// The multi-label public suffixes under which a wildcard would cover unrelated registrants. Single-label
/// suffixes are refused by the three-label rule; this list covers the common two-label ones.
enum PublicSuffixes {
    static let twoLabel: Set<String> = [
        "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "com.au", "net.au", "org.au",
        "edu.au", "gov.au", "co.nz", "org.nz", "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "com.br", "net.br",
        "org.br", "com.cn", "net.cn", "org.cn", "gov.cn", "co.in", "net.in", "org.in", "co.za", "org.za",
        "com.mx", "com.ar", "com.tr", "com.tw", "com.hk", "com.sg", "co.kr", "or.kr", "co.il", "com.pl",
        "github.io", "herokuapp.com", "azurewebsites.net", "cloudapp.net", "appspot.com", "blogspot.com",
    ]

    static func isPublicSuffix(_ name: String) -> Bool {
        !name.contains(".") || twoLabel.contains(name)
    }
}
