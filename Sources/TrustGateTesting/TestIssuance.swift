import Foundation
import TrustGatePKI

/// Certificates made in code for tests, with fixed names and sensible defaults.
public enum TestIssuance {
    /// A validity of `days` days starting an hour ago.
    public static func validity(days: Double = 30, startingDaysAgo: Double = 0) throws -> ValidityPeriod {
        let now = Date()
        let start = now.addingTimeInterval(-startingDaysAgo * 86400 - 3600)
        return try ValidityPeriod(notBefore: start, notAfter: start.addingTimeInterval(days * 86400 + 3600))
    }

    /// A root CA.
    public static func root(_ name: String = "Test Root", key: KeyAlgorithm = .ecP256) throws -> IssuedCertificate {
        try CertificateFactory.issue(
            CertificateRequest(commonName: name, keyAlgorithm: key, profile: .rootCA, validity: validity(days: 365))
        )
    }

    /// An intermediate CA under `issuer`.
    public static func intermediate(_ name: String = "Test Intermediate", issuer: IssuedCertificate) throws
        -> IssuedCertificate
    {
        try CertificateFactory.issue(
            CertificateRequest(commonName: name, profile: .intermediateCA, validity: validity(days: 365)),
            issuer: issuer.asAuthority()
        )
    }

    /// A leaf for `host` under `issuer`.
    public static func leaf(
        _ host: String = "backend.test", issuer: IssuedCertificate, key: KeyAlgorithm = .ecP256,
        validity: ValidityPeriod? = nil
    ) throws -> IssuedCertificate {
        try CertificateFactory.issue(
            CertificateRequest(
                commonName: host, keyAlgorithm: key, profile: .leaf, validity: validity ?? self.validity()
            ),
            issuer: issuer.asAuthority()
        )
    }
}
