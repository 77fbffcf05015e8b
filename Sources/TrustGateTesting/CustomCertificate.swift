import Foundation
import SwiftASN1
import TrustGatePKI
import X509

/// Certificates with exactly the extensions a test needs (name constraints, odd key usages, path lengths,
/// cross-signatures, rule-breaking profiles), signed directly with swift-certificates.
public struct CustomCertificate: Sendable {
    public let certificate: ParsedCertificate
    public let key: PrivateKeyMaterial

    /// What a test changes about an otherwise well-formed certificate (each default is the RFC 5280 / CA/B way).
    public struct Tweaks: Sendable {
        public var version: Certificate.Version = .v3
        /// The serial number's octets (nil: 16 random ones).
        public var serial: [UInt8]?
        /// No subject at all (the CN is then only in the SAN, if there).
        public var emptySubject = false
        /// A subject of several attributes instead of the CN alone.
        public var subjectName: DistinguishedName?
        public var subjectKeyIdentifier = true
        public var authorityKeyIdentifier = true
        /// An AKI whose key identifier is not the issuer's.
        public var wrongAuthorityKeyIdentifier = false
        public var basicConstraints = true
        public var basicConstraintsCritical = true
        public var keyUsagePresent = true
        public var keyUsageCritical = true
        public var extendedKeyUsageCritical = false
        public var subjectAlternativeNameCritical = false
        public var nameConstraintsCritical = true
        /// Extensions added as they are (unknown critical ones, policy constraints, AIA, …).
        public var extra: [Certificate.Extension] = []

        public init() {}
    }

    /// Makes a certificate for `subject`, signed by `issuer` (self-signed when nil). `key` defaults to a new P-256
    /// key; pass an existing one to cross-sign.
    public init(
        _ subject: String,
        issuer: CustomCertificate? = nil,
        key: PrivateKeyMaterial? = nil,
        ca: Bool,
        pathLength: Int? = nil,
        sans: [GeneralName] = [],
        keyUsage: KeyUsage? = nil,
        extendedKeyUsage: [ExtendedKeyUsage.Usage]? = nil,
        nameConstraints: NameConstraints? = nil,
        notBefore: Date = Date().addingTimeInterval(-86400),
        notAfter: Date = Date().addingTimeInterval(86400 * 30),
        signatureAlgorithm: Certificate.SignatureAlgorithm? = nil,
        keyAlgorithm: KeyAlgorithm = .ecP256,
        tweaks: Tweaks = Tweaks()
    ) throws {
        let key = try key ?? keyAlgorithm.generate()
        let name = tweaks.emptySubject ? DistinguishedName() : try tweaks.subjectName ?? DistinguishedName { CommonName(subject) }
        let signer = issuer?.key ?? key
        var extensions = Certificate.Extensions()
        if tweaks.version == .v3 {
            if tweaks.basicConstraints {
                try extensions.append(Certificate.Extension(
                    ca ? BasicConstraints.isCertificateAuthority(maxPathLength: pathLength) : .notCertificateAuthority,
                    critical: tweaks.basicConstraintsCritical
                ))
            }
            if tweaks.keyUsagePresent {
                let usage = keyUsage ?? (ca ? KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true)
                                            : KeyUsage(digitalSignature: true))
                try extensions.append(Certificate.Extension(usage, critical: tweaks.keyUsageCritical))
            }
            if let extendedKeyUsage {
                try extensions.append(Certificate.Extension(
                    ExtendedKeyUsage(extendedKeyUsage), critical: tweaks.extendedKeyUsageCritical
                ))
            } else if !ca {
                try extensions.append(Certificate.Extension(
                    ExtendedKeyUsage([.serverAuth, .clientAuth]), critical: tweaks.extendedKeyUsageCritical
                ))
            }
            if !sans.isEmpty {
                try extensions.append(Certificate.Extension(
                    SubjectAlternativeNames(sans), critical: tweaks.subjectAlternativeNameCritical
                ))
            }
            if let nameConstraints {
                try extensions.append(Certificate.Extension(nameConstraints, critical: tweaks.nameConstraintsCritical))
            }
            if tweaks.subjectKeyIdentifier {
                try extensions.append(Certificate.Extension(SubjectKeyIdentifier(hash: key.publicKey), critical: false))
            }
            if tweaks.authorityKeyIdentifier, let issuer {
                // Key identifiers as RFC 5280 wants them: the issuer's SKI as this certificate's AKI.
                var issuerKey = (try? issuer.certificate.extensions.subjectKeyIdentifier)?.keyIdentifier
                    ?? SubjectKeyIdentifier(hash: issuer.key.publicKey).keyIdentifier
                if tweaks.wrongAuthorityKeyIdentifier { issuerKey = ArraySlice(issuerKey.map { $0 ^ 0xFF }) }
                try extensions.append(Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: issuerKey), critical: false))
            } else if tweaks.wrongAuthorityKeyIdentifier {
                let own = SubjectKeyIdentifier(hash: key.publicKey).keyIdentifier.map { $0 ^ 0xFF }
                try extensions.append(Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: ArraySlice(own)), critical: false))
            }
            for ext in tweaks.extra { try extensions.append(ext) }
        }
        let certificate = try Certificate(
            version: tweaks.version,
            serialNumber: tweaks.serial.map { Certificate.SerialNumber(bytes: $0) } ?? Certificate.SerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: issuer?.certificate.subject ?? name,
            subject: name,
            signatureAlgorithm: signatureAlgorithm ?? signer.defaultSignatureAlgorithm,
            extensions: extensions,
            issuerPrivateKey: signer.certificateKey
        )
        self.certificate = try ParsedCertificate(certificate)
        self.key = key
    }

    /// An extension with a raw DER value, for the ones swift-certificates has no type for.
    public static func rawExtension(_ oid: ASN1ObjectIdentifier, critical: Bool, value: [UInt8]) -> Certificate.Extension {
        Certificate.Extension(oid: oid, critical: critical, value: ArraySlice(value))
    }
}
