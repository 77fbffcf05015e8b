import X509

/// Everything `cert create` needs to make one certificate.
public struct CertificateRequest: Sendable {
    public var commonName: String
    public var subjectAlternativeNames: [GeneralName]
    public var keyAlgorithm: KeyAlgorithm
    public var profile: CertificateProfile
    public var validity: ValidityPeriod
    /// Signature algorithm override (e.g. SHA-1 for a deliberately weak test certificate); `nil` picks the
    /// issuer key's default.
    public var signatureAlgorithm: Certificate.SignatureAlgorithm?

    public init(
        commonName: String,
        subjectAlternativeNames: [GeneralName] = [],
        keyAlgorithm: KeyAlgorithm = .ecP256,
        profile: CertificateProfile = .selfSigned,
        validity: ValidityPeriod,
        signatureAlgorithm: Certificate.SignatureAlgorithm? = nil
    ) {
        self.commonName = commonName
        self.subjectAlternativeNames = subjectAlternativeNames
        self.keyAlgorithm = keyAlgorithm
        self.profile = profile
        self.validity = validity
        self.signatureAlgorithm = signatureAlgorithm
    }
}

/// A certificate just made, with its key and the chain a server should send after it.
public struct IssuedCertificate: Sendable {
    public let certificate: ParsedCertificate
    public let key: PrivateKeyMaterial
    /// Intermediates to send after the certificate, nearest first (never the root).
    public let chain: [ParsedCertificate]

    /// The certificate followed by its chain, as a PEM file for a server.
    public var chainPEM: String { ([certificate] + chain).map(\.pem).joined() }

    /// This certificate as a CA that can sign, if it is one.
    public func asAuthority() throws(PKIError) -> CertificateAuthority {
        try CertificateAuthority(certificate: certificate, key: key, chainAbove: chain)
    }
}
