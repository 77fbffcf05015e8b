import X509

/// The CA/Browser Forum baseline rules for TLS server certificates that pyca/cryptography and rustls-webpki
/// enforce, under `strict` only (`profile-violation`):
/// - the leaf: at least one SAN; the subjectAltName not critical when the subject is not empty; every CN a copy of
///   one of its DNS or IP SANs (an IP in its canonical text); no CA certificate in leaf position;
/// - every dNSName SAN of the path a valid preferred-syntax name: letters, digits and hyphens in labels of at most
///   63, a wildcard only as the whole left-most label of at least three, never in an A-label, never directly
///   under a public suffix;
/// - RSA moduli a multiple of 8 bits;
/// - a root's authorityKeyIdentifier with a key identifier only (no issuer, no serial).
struct ServerProfileCheck: PathCheck {
    func problems(in context: PathContext) -> [TrustProblem] {
        guard context.isStrict else { return [] }
        var problems: [TrustProblem] = []
        let leaf = context.leaf
        func violation(_ certificate: ParsedCertificate, _ rule: ProfileRule, _ detail: String) {
            problems.append(.violation(rule, "\(certificate.displayName): \(detail)", certificate: certificate))
        }
        let names = leaf.subjectAlternativeNames
        if names.isEmpty {
            violation(leaf, .noSubjectAlternativeName, "no subjectAltName (TLS clients match only SANs)")
        } else if !leaf.subject.isEmpty, leaf.extensions[oid: .X509ExtensionID.subjectAlternativeName]?.critical == true {
            violation(leaf, .criticalSANWithSubject, "a critical subjectAltName with a non-empty subject")
        }
        for commonName in leaf.commonNames where !Self.isCopyOfSAN(commonName, names) {
            violation(leaf, .commonNameNotInSAN, "its CN \(commonName) is not one of its SANs")
        }
        if !context.leafIsAnchor, leaf.isCA { violation(leaf, .caAsLeaf, "a CA certificate used as the leaf") }
        for (index, certificate) in context.path.enumerated() {
            for name in certificate.subjectAlternativeNames {
                if case .dnsName(let dns) = name, let reason = Self.invalidDNSName(dns) {
                    violation(certificate, .invalidDNSName, "the dNSName SAN \(dns.debugDescription) \(reason)")
                }
            }
            if certificate.publicKey.algorithm.hasPrefix("RSA"), certificate.publicKey.bits % 8 != 0 {
                violation(certificate, .rsaModulusSize, "an RSA modulus of \(certificate.publicKey.bits) bits (a multiple of 8 is required)")
            }
            if context.isAnchor(index) || context.leafIsAnchor, let authority = (try? certificate.extensions.authorityKeyIdentifier) ?? nil {
                if authority.keyIdentifier == nil { violation(certificate, .rootKeyIdentifierNamesIssuer, "a root authorityKeyIdentifier without a key identifier") }
                if authority.authorityCertIssuer != nil || authority.authorityCertSerialNumber != nil {
                    violation(certificate, .rootKeyIdentifierNamesIssuer, "a root authorityKeyIdentifier naming an issuer or serial number")
                }
            }
        }
        return problems
    }

    /// Whether `commonName` is byte for byte a DNS SAN, or the canonical text of an IP SAN.
    static func isCopyOfSAN(_ commonName: String, _ names: [GeneralName]) -> Bool {
        names.contains { name in
            switch name {
            case .dnsName(let dns): dns == commonName
            case .ipAddress(let octets): IPAddressBytes.format(Array(octets.bytes)) == commonName
            default: false
            }
        }
    }

    /// Why `name` is not a valid dNSName for a TLS server (nil when it is).
    static func invalidDNSName(_ name: String) -> String? {
        guard !name.isEmpty else { return "is empty" }
        guard name.utf8.allSatisfy({ $0 < 0x80 }) else { return "is not ASCII (an IDN goes in its A-label form)" }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard name.utf8.count <= 253, labels.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 63 }) else {
            return "has an empty or over-long label"
        }
        for (position, label) in labels.enumerated() {
            if label == "*" {
                guard position == 0 else { return "has a wildcard that is not the left-most label" }
                guard labels.count >= 3 else { return "is a wildcard over fewer than two labels" }
                let base = labels.dropFirst().joined(separator: ".").lowercased()
                if PublicSuffixes.isPublicSuffix(base) { return "is a wildcard directly under the public suffix \(base)" }
                continue
            }
            if label.contains("*") { return "has a wildcard inside a label" }
            guard label.utf8.allSatisfy({ $0.isLetterDigitOrHyphen }), label.first != "-", label.last != "-" else {
                return "has a label that is not letters, digits and hyphens"
            }
        }
        return nil
    }
}

extension UInt8 {
    fileprivate var isLetterDigitOrHyphen: Bool {
        (self >= UInt8(ascii: "a") && self <= UInt8(ascii: "z")) || (self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z"))
            || (self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9")) || self == UInt8(ascii: "-")
    }
}
