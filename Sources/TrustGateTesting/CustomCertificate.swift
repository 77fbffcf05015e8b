import Foundation
import SwiftASN1
import TrustGatePKI
import X509

/// Certificates with exactly the extensions a test needs (name constraints, odd key usages, path lengths,
/// cross-signatures), signed directly with swift-certificates.
public struct CustomCertificate: Sendable {
    public let certificate: ParsedCertificate
    public let key: PrivateKeyMaterial

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
        keyAlgorithm: KeyAlgorithm = .ecP256
    ) throws {
        let key = try key ?? keyAlgorithm.generate()
        let name = try DistinguishedName { CommonName(subject) }
        let signer = issuer?.key ?? key
        var extensions = Certificate.Extensions()
        try extensions.append(
            Certificate.Extension(
                ca ? BasicConstraints.isCertificateAuthority(maxPathLength: pathLength) : .notCertificateAuthority,
                critical: true
            )
        )
        let usage = keyUsage ?? (ca ? KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true)
                                    : KeyUsage(digitalSignature: true))
        try extensions.append(Certificate.Extension(usage, critical: true))
        if let extendedKeyUsage {
            try extensions.append(Certificate.Extension(ExtendedKeyUsage(extendedKeyUsage), critical: false))
        } else if !ca {
            try extensions.append(Certificate.Extension(ExtendedKeyUsage([.serverAuth, .clientAuth]), critical: false))
        }
        if !sans.isEmpty {
            try extensions.append(Certificate.Extension(SubjectAlternativeNames(sans), critical: false))
        }
        if let nameConstraints {
            try extensions.append(Certificate.Extension(nameConstraints, critical: true))
        }
        try extensions.append(Certificate.Extension(SubjectKeyIdentifier(hash: key.publicKey), critical: false))
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
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
}
