import SwiftASN1
import X509

/// RFC 5280 §4's rules for the certificates themselves, in both profiles (`profile-violation` unless said):
/// - serial numbers positive, not zero, at most 20 octets (§4.1.2.2); a non-empty issuer; a CA's subject not empty;
/// - key identifiers (§4.2.1.1, §4.2.1.2): an authorityKeyIdentifier on every certificate but a self-signed trust
///   anchor, a subjectKeyIdentifier on every CA, neither critical; a self-signed anchor's own AKI names its SKI;
/// - subjectAltName critical when the subject is empty (§4.2.1.6);
/// - authorityInfoAccess not critical (§4.2.2.1); policyConstraints critical (§4.2.1.11);
/// - nameConstraints only in CA certificates, and critical (§4.2.1.10);
/// - a critical extension TrustGate does not process refuses the certificate (`malformed`, §4.2);
/// - under `strict`, only v3 certificates (§4.1.2.1: extensions need v3; CA/Browser Forum: v3 only).
struct CertificateProfileCheck: PathCheck {
    /// The extensions a critical mark does not stop: those the checks process, and the policy extensions, whose
    /// content TrustGate does not enforce (no explicit policy is ever required).
    static let understood: Set<ASN1ObjectIdentifier> = [
        .X509ExtensionID.basicConstraints, .X509ExtensionID.keyUsage, .X509ExtensionID.extendedKeyUsage,
        .X509ExtensionID.subjectAlternativeName, .X509ExtensionID.nameConstraints, policyConstraints,
        // Processed, and never to be critical: that is a profile violation of its own.
        .X509ExtensionID.authorityKeyIdentifier, .X509ExtensionID.subjectKeyIdentifier,
        .X509ExtensionID.authorityInformationAccess,
        [2, 5, 29, 32], [2, 5, 29, 33], [2, 5, 29, 54],  // certificatePolicies, policyMappings, inhibitAnyPolicy
    ]
    static let policyConstraints: ASN1ObjectIdentifier = [2, 5, 29, 36]

    func problems(in context: PathContext) -> [TrustProblem] {
        var problems: [TrustProblem] = []
        for (index, certificate) in context.path.enumerated() {
            let isCA = index > 0 || certificate.isCA
            let selfSignedAnchor = context.isAnchor(index) && certificate.isSelfIssued || context.leafIsAnchor
            func violation(_ rule: ProfileRule, _ detail: String) {
                problems.append(.violation(rule, "\(certificate.displayName): \(detail)", certificate: certificate))
            }
            problems += serialProblems(certificate)
            if certificate.issuer.isEmpty { violation(.emptyIssuer, "the issuer name is empty") }
            if isCA, index > 0, certificate.subject.isEmpty { violation(.caEmptySubject, "a CA with an empty subject") }
            if context.isStrict, certificate.version < 3 { violation(.notVersion3, "a v\(certificate.version) certificate (v3 only)") }
            let extensions = certificate.extensions
            for ext in extensions where ext.critical && !Self.understood.contains(ext.oid) {
                problems.append(TrustProblem(
                    .malformed, "\(certificate.displayName) has a critical extension TrustGate does not process (\(ext.oid))",
                    certificate: certificate
                ))
            }
            // Key identifiers.
            let authority = (try? extensions.authorityKeyIdentifier) ?? nil
            let subjectKey = (try? extensions.subjectKeyIdentifier) ?? nil
            if extensions[oid: .X509ExtensionID.authorityKeyIdentifier]?.critical == true { violation(.criticalKeyIdentifier, "a critical authorityKeyIdentifier") }
            if extensions[oid: .X509ExtensionID.subjectKeyIdentifier]?.critical == true { violation(.criticalKeyIdentifier, "a critical subjectKeyIdentifier") }
            if authority?.keyIdentifier == nil, !selfSignedAnchor, certificate.version == 3 {
                violation(.missingAuthorityKeyIdentifier, "no authorityKeyIdentifier key identifier")
            }
            if isCA, index > 0, subjectKey == nil, certificate.version == 3 { violation(.missingSubjectKeyIdentifier, "a CA without subjectKeyIdentifier") }
            if selfSignedAnchor, let authority, let subjectKey {
                if let identifier = authority.keyIdentifier, identifier != subjectKey.keyIdentifier {
                    violation(.rootKeyIdentifierMismatch, "the self-signed root's authorityKeyIdentifier does not match its subjectKeyIdentifier")
                }
            }
            // Criticality rules.
            let sanCritical = extensions[oid: .X509ExtensionID.subjectAlternativeName]?.critical
            if certificate.subject.isEmpty, sanCritical == false { violation(.emptySubjectNeedsCriticalSAN, "an empty subject with a non-critical subjectAltName") }
            if certificate.subject.isEmpty, sanCritical == nil, index == 0 { violation(.emptySubjectNeedsCriticalSAN, "an empty subject and no subjectAltName") }
            if extensions[oid: .X509ExtensionID.authorityInformationAccess]?.critical == true { violation(.criticalAuthorityInfoAccess, "a critical authorityInfoAccess") }
            if extensions[oid: Self.policyConstraints]?.critical == false { violation(.policyConstraintsNotCritical, "a policyConstraints extension that is not critical") }
            if let constraints = extensions[oid: .X509ExtensionID.nameConstraints] {
                if !isCA || (index == 0 && !context.leafIsAnchor) {
                    violation(.nameConstraintsOnLeaf, "nameConstraints in an end-entity certificate")
                } else if !constraints.critical {
                    violation(.nameConstraintsNotCritical, "a nameConstraints extension that is not critical")
                }
            }
        }
        return problems
    }

    /// §4.1.2.2: a positive INTEGER, not zero, of at most 20 octets. (A negative one does not parse; the serial
    /// is kept as its magnitude.)
    private func serialProblems(_ certificate: ParsedCertificate) -> [TrustProblem] {
        let magnitude = certificate.serialNumber.drop { $0 == 0 }
        var reasons: [(ProfileRule, String)] = []
        if magnitude.isEmpty { reasons.append((.serialZero, "a serial number of zero")) }
        if magnitude.count > 20 { reasons.append((.serialTooLong, "a serial number of \(magnitude.count) octets (at most 20)")) }
        return reasons.map { .violation($0.0, "\(certificate.displayName): \($0.1)", certificate: certificate) }
    }
}
