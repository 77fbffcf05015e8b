import X509

/// The names a certificate holds, as name constraints see them: its subject (when not empty) and its
/// directoryName SANs as directory names, its other SANs, the emailAddress attributes of its subject as
/// rfc822Names, and, when it has no subjectAltName at all, a CN that names a host as a dNSName. SANs that are not
/// well-formed are set apart.
struct CertificateNames {
    var all: [GeneralName] = []
    var invalid: [(kind: NameForms.Kind, text: String)] = []

    init(_ certificate: ParsedCertificate) {
        if !certificate.subject.isEmpty { all.append(.directoryName(certificate.subject)) }
        let sans = certificate.subjectAlternativeNames
        for name in sans {
            switch name {
            case .dnsName(let dns) where !NameForms.isHostName(dns.hasPrefix("*.") ? String(dns.dropFirst(2)) : dns):
                invalid.append((.dns, dns))
            case .ipAddress(let octets) where octets.bytes.count != 4 && octets.bytes.count != 16:
                invalid.append((.ip, "\(octets.bytes.count) octets"))
            case .rfc822Name(let mail) where NameForms.mailbox(mail) == nil:
                invalid.append((.rfc822, mail))
            case .uniformResourceIdentifier(let uri) where NameForms.host(ofURI: uri) == nil:
                invalid.append((.uri, uri))
            default:
                all.append(name)
            }
        }
        for attribute in certificate.subject.flatMap({ $0 }) where attribute.type == .RDNAttributeType.emailAddress {
            all.append(.rfc822Name(String(attribute.value) ?? attribute.value.description))
        }
        if certificate.extensions[oid: .X509ExtensionID.subjectAlternativeName] == nil {
            for commonName in certificate.commonNames where commonName.contains(".") && NameForms.isHostName(commonName) {
                all.append(.dnsName(commonName))
            }
        }
    }
}

/// Matching of names against name-constraint subtrees, form by form (RFC 5280 §4.2.1.10).
enum NameForms {
    enum Kind: String, CustomStringConvertible {
        case dns = "dNSName", ip = "iPAddress", rfc822 = "rfc822Name", uri = "URI", directory = "directoryName"
        case otherName, x400Address, ediPartyName, registeredID

        var description: String { rawValue }
    }

    static func kind(of name: GeneralName) -> Kind {
        switch name {
        case .dnsName: .dns
        case .ipAddress: .ip
        case .rfc822Name: .rfc822
        case .uniformResourceIdentifier: .uri
        case .directoryName: .directory
        case .otherName: .otherName
        case .x400Address: .x400Address
        case .ediPartyName: .ediPartyName
        case .registeredID: .registeredID
        }
    }

    /// Whether TrustGate evaluates constraints of this form (the others refuse a certificate holding such a name).
    static func isEvaluated(_ kind: Kind) -> Bool {
        [.dns, .ip, .rfc822, .uri, .directory].contains(kind)
    }

    static func text(_ name: GeneralName) -> String {
        switch name {
        case .dnsName(let text), .rfc822Name(let text), .uniformResourceIdentifier(let text): text
        case .ipAddress(let octets):
            octets.bytes.count == 8 || octets.bytes.count == 32
                ? IPAddressBytes.format(Array(octets.bytes.prefix(octets.bytes.count / 2))) + "/"
                    + IPAddressBytes.format(Array(octets.bytes.suffix(octets.bytes.count / 2)))
                : IPAddressBytes.format(Array(octets.bytes))
        case .directoryName(let dn): dn.description
        default: "\(name)"
        }
    }

    /// Whether every name `name` stands for is within `subtree` (for a wildcard: all the names it can match).
    static func within(_ name: GeneralName, permittedSubtree subtree: GeneralName) -> Bool {
        switch (name, subtree) {
        case (.dnsName(let dns), .dnsName(let constraint)):
            let host = lowered(dns)
            let base = host.hasPrefix("*.") ? String(host.dropFirst(2)) : host
            return dnsWithin(base, lowered(constraint))
        case (.ipAddress(let address), .ipAddress(let network)):
            return ipWithin(Array(address.bytes), Array(network.bytes))
        case (.rfc822Name(let mail), .rfc822Name(let constraint)):
            guard let mailbox = mailbox(mail), let rule = mailboxConstraint(constraint) else { return false }
            return rule.admits(mailbox)
        case (.uniformResourceIdentifier(let uri), .uniformResourceIdentifier(let constraint)):
            guard let host = host(ofURI: uri) else { return false }
            return hostWithin(host, lowered(constraint))
        case (.directoryName(let dn), .directoryName(let constraint)):
            return directoryWithin(dn, constraint)
        default:
            return false
        }
    }

    /// Whether some name `name` stands for is within the excluded `subtree`.
    static func meets(_ name: GeneralName, excludedSubtree subtree: GeneralName) -> Bool {
        if case .dnsName(let dns) = name, case .dnsName(let constraint) = subtree {
            let host = lowered(dns)
            let excluded = lowered(constraint)
            guard host.hasPrefix("*.") else { return dnsWithin(host, excluded) }
            // *.base can be any one label under base: it meets the subtree if base is in it, or if the subtree is
            // one of those names or below one.
            let base = String(host.dropFirst(2))
            if dnsWithin(base, excluded) { return true }
            let baseLabels = base.split(separator: ".").count
            let labels = excluded.split(separator: ".").count
            return labels == baseLabels + 1 && excluded.hasSuffix("." + base)
        }
        return within(name, permittedSubtree: subtree)
    }

    // MARK: Forms

    /// A DNS name `name` is within `constraint` when it is the constraint or has labels added on its left; the
    /// empty constraint contains every name.
    static func dnsWithin(_ name: String, _ constraint: String) -> Bool {
        constraint.isEmpty || name == constraint || name.hasSuffix("." + constraint)
    }

    /// A distinguished name is within a directoryName constraint when the constraint's RDNs are its first ones,
    /// compared as RFC 5280 §7.1 asks (RFC 4518 in outline: string values case-folded, leading, trailing and
    /// repeated spaces ignored, whatever string type encodes them; other values byte for byte).
    static func directoryWithin(_ name: DistinguishedName, _ constraint: DistinguishedName) -> Bool {
        guard constraint.count <= name.count else { return false }
        return zip(name, constraint).allSatisfy { rdn, wanted in
            rdn.count == wanted.count && rdnKeys(rdn) == rdnKeys(wanted)
        }
    }

    private static func rdnKeys(_ rdn: RelativeDistinguishedName) -> [String] {
        rdn.map { attribute in
            let value = String(attribute.value).map { text in
                "s:" + text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
            } ?? "b:\(attribute.value)"
            return "\(attribute.type)=\(value)"
        }.sorted()
    }

    /// A URI or mailbox host within a constraint: `host` exactly, or `.domain` for the hosts below it.
    static func hostWithin(_ host: String, _ constraint: String) -> Bool {
        constraint.hasPrefix(".") ? host.hasSuffix(constraint) : host == constraint
    }

    /// An address within `network` (address then mask, of the same family).
    static func ipWithin(_ address: [UInt8], _ network: [UInt8]) -> Bool {
        guard let (base, mask) = self.network(network), base.count == address.count else { return false }
        return zip(zip(address, base), mask).allSatisfy { pair, mask in pair.0 & mask == pair.1 & mask }
    }

    /// An iPAddress constraint split into address and mask: 8 or 32 octets, the mask's ones contiguous.
    static func network(_ octets: [UInt8]) -> (address: [UInt8], mask: [UInt8])? {
        guard octets.count == 8 || octets.count == 32 else { return nil }
        let mask = Array(octets.suffix(octets.count / 2))
        var ended = false
        for byte in mask {
            for bit in (0..<8).reversed() {
                let set = byte & (1 << bit) != 0
                if set, ended { return nil }
                if !set { ended = true }
            }
        }
        return (Array(octets.prefix(octets.count / 2)), mask)
    }

    /// `local@host` with exactly one `@`, both parts present, the host a host name.
    static func mailbox(_ text: String) -> (local: String, host: String)? {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, isHostName(String(parts[1])) else { return nil }
        return (String(parts[0]), lowered(String(parts[1])))
    }

    /// An rfc822Name constraint: a mailbox (exactly that one), a host (every mailbox there), or `.domain` (every
    /// mailbox on a host below it).
    struct MailboxConstraint {
        let mailbox: (local: String, host: String)?
        let host: String

        func admits(_ candidate: (local: String, host: String)) -> Bool {
            if let mailbox { return candidate.local == mailbox.local && candidate.host == mailbox.host }
            return NameForms.hostWithin(candidate.host, host)
        }
    }

    static func mailboxConstraint(_ text: String) -> MailboxConstraint? {
        if text.contains("@") {
            guard let mailbox = mailbox(text) else { return nil }
            return MailboxConstraint(mailbox: mailbox, host: mailbox.host)
        }
        let bare = text.hasPrefix(".") ? String(text.dropFirst()) : text
        guard isHostName(bare) else { return nil }
        return MailboxConstraint(mailbox: nil, host: lowered(text))
    }

    /// The host of `scheme://[userinfo@]host[:port][/…]`, lower-cased; nil without one (or for an IP literal).
    static func host(ofURI uri: String) -> String? {
        guard let scheme = uri.range(of: "://") else { return nil }
        var rest = uri[scheme.upperBound...]
        if let end = rest.firstIndex(where: { "/?#".contains($0) }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        guard !rest.hasPrefix("[") else { return nil }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        let host = String(rest)
        guard isHostName(host), IPAddressBytes.parse(host) == nil else { return nil }
        return lowered(host)
    }

    /// Letters, digits and hyphens in non-empty labels of at most 63 (no leading or trailing hyphen), 253 at most.
    static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { byte in
                    (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                        || byte == 0x2D
                }
        }
    }

    private static func lowered(_ text: String) -> String {
        var text = text.lowercased()
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
