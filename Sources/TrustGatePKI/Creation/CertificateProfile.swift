/// What a new certificate is for; decides its extensions.
public enum CertificateProfile: String, CaseIterable, Sendable, Codable {
    /// A self-signed end-entity certificate (a server certificate that is its own root).
    case selfSigned = "self-signed"
    /// A self-signed CA that signs intermediates or leafs.
    case rootCA = "root-ca"
    /// A CA signed by another CA, allowed to sign leafs only (pathLenConstraint 0).
    case intermediateCA = "intermediate-ca"
    /// A server/client certificate signed by a CA.
    case leaf

    /// Whether the certificate is a CA (basicConstraints CA:TRUE).
    public var isCA: Bool { self == .rootCA || self == .intermediateCA }

    /// Whether an issuing CA must be given.
    public var needsIssuer: Bool { self == .intermediateCA || self == .leaf }

    /// Default lifetime in days: 10 years for a root, 5 for an intermediate, 397 for end-entity certificates
    /// (the CA/Browser Forum maximum, so the certificate passes `cert lint`).
    public var defaultDays: Int {
        switch self {
        case .rootCA: return 3650
        case .intermediateCA: return 1825
        case .leaf, .selfSigned: return 397
        }
    }
}
