/// The named rules behind `profile-violation`: RFC 5280's certificate profile (both verification profiles) and the
/// CA/Browser Forum baseline for TLS servers (`strict` only). Each names where it comes from and which certificate
/// has to be reissued; `cert lint` reports the rule and the `trustgate cert create` command that makes a
/// certificate without the problem.
public enum ProfileRule: String, Sendable, Codable, CaseIterable {
    case serialZero = "serial-zero"
    case serialTooLong = "serial-too-long"
    case emptyIssuer = "empty-issuer"
    case caEmptySubject = "ca-empty-subject"
    case notVersion3 = "not-v3"
    case criticalKeyIdentifier = "critical-key-identifier"
    case missingAuthorityKeyIdentifier = "missing-aki"
    case missingSubjectKeyIdentifier = "missing-ski"
    case rootKeyIdentifierMismatch = "root-aki-mismatch"
    case rootKeyIdentifierNamesIssuer = "root-aki-issuer"
    case emptySubjectNeedsCriticalSAN = "empty-subject-san"
    case criticalAuthorityInfoAccess = "critical-aia"
    case policyConstraintsNotCritical = "policy-constraints-not-critical"
    case nameConstraintsOnLeaf = "leaf-name-constraints"
    case nameConstraintsNotCritical = "name-constraints-not-critical"
    case basicConstraintsNotCritical = "ca-basic-constraints-not-critical"
    case leafKeyCertSign = "leaf-keycertsign"
    case caWithoutKeyUsage = "ca-no-key-usage"
    case rootExtendedKeyUsage = "root-eku"
    case caAnyExtendedKeyUsage = "ca-any-eku"
    case leafWithoutExtendedKeyUsage = "leaf-no-eku"
    case leafAnyExtendedKeyUsage = "leaf-any-eku"
    case leafCriticalExtendedKeyUsage = "leaf-critical-eku"
    case mixedPurposes = "eku-mixed-purpose"
    case noSubjectAlternativeName = "no-san"
    case criticalSANWithSubject = "critical-san-with-subject"
    case commonNameNotInSAN = "cn-not-in-san"
    case caAsLeaf = "ca-as-leaf"
    case invalidDNSName = "invalid-dns-san"
    case rsaModulusSize = "rsa-modulus-size"

    /// Where the rule is written.
    public var reference: String {
        switch self {
        case .serialZero, .serialTooLong: "RFC 5280 §4.1.2.2"
        case .emptyIssuer: "RFC 5280 §4.1.2.4"
        case .caEmptySubject: "RFC 5280 §4.1.2.6"
        case .notVersion3: "RFC 5280 §4.1.2.1, CA/B BR §7.1.1"
        case .criticalKeyIdentifier, .missingAuthorityKeyIdentifier, .rootKeyIdentifierMismatch:
            "RFC 5280 §4.2.1.1"
        case .missingSubjectKeyIdentifier: "RFC 5280 §4.2.1.2"
        case .rootKeyIdentifierNamesIssuer: "CA/B BR §7.1.2.1.3"
        case .emptySubjectNeedsCriticalSAN: "RFC 5280 §4.2.1.6"
        case .criticalAuthorityInfoAccess: "RFC 5280 §4.2.2.1"
        case .policyConstraintsNotCritical: "RFC 5280 §4.2.1.11"
        case .nameConstraintsOnLeaf, .nameConstraintsNotCritical: "RFC 5280 §4.2.1.10"
        case .basicConstraintsNotCritical: "RFC 5280 §4.2.1.9"
        case .leafKeyCertSign, .caWithoutKeyUsage: "RFC 5280 §4.2.1.3"
        case .rootExtendedKeyUsage: "CA/B BR §7.1.2.1.2"
        case .caAnyExtendedKeyUsage: "CA/B BR §7.1.2.10.6"
        case .leafWithoutExtendedKeyUsage, .leafAnyExtendedKeyUsage, .leafCriticalExtendedKeyUsage, .mixedPurposes:
            "CA/B BR §7.1.2.7.10"
        case .noSubjectAlternativeName, .criticalSANWithSubject, .invalidDNSName: "CA/B BR §7.1.2.7.12"
        case .commonNameNotInSAN: "CA/B BR §7.1.4.3"
        case .caAsLeaf: "CA/B BR §7.1.2.7.8"
        case .rsaModulusSize: "CA/B BR §6.1.5"
        }
    }

    /// Whether `compatible` (RFC 5280 alone) lets a chain with this problem through.
    public var isServerProfileOnly: Bool {
        switch self {
        case .notVersion3, .rootKeyIdentifierNamesIssuer, .caWithoutKeyUsage, .rootExtendedKeyUsage,
            .caAnyExtendedKeyUsage, .leafWithoutExtendedKeyUsage, .leafAnyExtendedKeyUsage, .leafCriticalExtendedKeyUsage,
            .mixedPurposes, .noSubjectAlternativeName, .criticalSANWithSubject, .commonNameNotInSAN, .caAsLeaf,
            .invalidDNSName, .rsaModulusSize:
            true
        default:
            false
        }
    }

    /// The command that makes a replacement for `certificate` (at `position` in its chain) without the problem:
    /// TrustGate writes v3 certificates with random 128-bit serials, key identifiers, critical basicConstraints
    /// and keyUsage, EKU serverAuth+clientAuth on leaves, every name in the SAN and the CN copied there.
    public static func reissueCommand(for certificate: ParsedCertificate, position: ChainPosition) -> String {
        let commonName = certificate.commonNames.first
        let sans = certificate.subjectAlternativeNames.compactMap { name -> String? in
            switch name {
            case .dnsName(let dns) where ServerProfileCheck.invalidDNSName(dns) == nil: dns
            case .ipAddress(let octets) where octets.bytes.count == 4 || octets.bytes.count == 16:
                IPAddressBytes.format(Array(octets.bytes))
            default: nil
            }
        }
        func quoted(_ text: String) -> String {
            text.allSatisfy { $0.isLetter || $0.isNumber || "-._*:".contains($0) } ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
        switch position {
        case .leaf:
            let name = sans.first ?? commonName ?? "HOST"
            let extra = sans.filter { $0 != name }.map { " --san \(quoted($0))" }.joined()
            return "trustgate cert create \(quoted(name)) --profile leaf\(extra) --ca-cert ISSUER.pem --ca-key ISSUER.key"
        case .intermediate:
            return "trustgate cert create \(quoted(commonName ?? "Intermediate CA")) --profile intermediate-ca "
                + "--ca-cert ISSUER.pem --ca-key ISSUER.key (then reissue the certificates below it)"
        case .root:
            return "trustgate cert create \(quoted(commonName ?? "Root CA")) --profile root-ca "
                + "(then reissue the certificates below it and register the new root)"
        }
    }

    public enum ChainPosition: Sendable {
        case leaf, intermediate, root
    }
}
