import Crypto
import SwiftASN1
import X509

/// Makes certificates: keys, subject, serial, per-profile extensions, signature.
public enum CertificateFactory {
    /// Creates a key and a certificate for `request`, signed by `issuer` (or self-signed when `issuer` is nil).
    public static func issue(_ request: CertificateRequest, issuer: CertificateAuthority? = nil) throws(PKIError)
        -> IssuedCertificate
    {
        try issue(request, key: request.keyAlgorithm.generate(), issuer: issuer)
    }

    /// Creates a certificate for an existing key.
    public static func issue(_ request: CertificateRequest, key: PrivateKeyMaterial, issuer: CertificateAuthority?)
        throws(PKIError) -> IssuedCertificate
    {
        if request.profile.needsIssuer, issuer == nil {
            throw .invalidRequest(
                "a \(request.profile.rawValue) certificate must be signed by a CA",
                hint: "pass --ca-cert and --ca-key (e.g. the root-ca.pem and root-ca.key of `trustgate cert testpki`)"
            )
        }
        if !request.profile.needsIssuer, issuer != nil {
            throw .invalidRequest("a \(request.profile.rawValue) certificate is self-signed: drop --ca-cert/--ca-key")
        }
        let commonName = request.commonName.trimmingCharacters(in: .whitespaces)
        guard !commonName.isEmpty, commonName.count <= 64 else {
            throw .invalidRequest("the common name must be 1 to 64 characters")
        }
        let names = try subjectAlternativeNames(for: request, commonName: commonName)

        let subject: DistinguishedName
        do {
            subject = try DistinguishedName { CommonName(commonName) }
        } catch {
            throw .invalidRequest("'\(commonName)' cannot be a common name: \(error)")
        }
        let signer = issuer?.key ?? key
        let issuerName = issuer?.certificate.subject ?? subject
        let signatureAlgorithm = request.signatureAlgorithm ?? signer.defaultSignatureAlgorithm

        do {
            let extensions = try makeExtensions(
                profile: request.profile, key: key, names: names, issuer: issuer?.certificate
            )
            let certificate = try Certificate(
                version: .v3,
                serialNumber: randomSerialNumber(),
                publicKey: key.publicKey,
                notValidBefore: request.validity.notBefore,
                notValidAfter: request.validity.notAfter,
                issuer: issuerName,
                subject: subject,
                signatureAlgorithm: signatureAlgorithm,
                extensions: extensions,
                issuerPrivateKey: signer.certificateKey
            )
            let chain = issuer.map { [$0.certificate] + $0.chainAbove }?.filter { !$0.isSelfIssued } ?? []
            return IssuedCertificate(certificate: try ParsedCertificate(certificate), key: key, chain: chain)
        } catch let error as PKIError {
            throw error
        } catch {
            throw .creationFailed("cannot sign the certificate: \(error)")
        }
    }

    /// The SANs: those asked for, plus the CN when it is a host name, IP or email (end-entity profiles only).
    static func subjectAlternativeNames(for request: CertificateRequest, commonName: String) throws(PKIError)
        -> [GeneralName]
    {
        var names: [GeneralName] = []
        if !request.profile.isCA, let fromCN = SubjectAlternativeName.forCommonName(commonName) {
            names.append(fromCN)
        }
        for name in request.subjectAlternativeNames where !names.contains(name) {
            names.append(name)
        }
        if !request.profile.isCA, names.isEmpty {
            throw .invalidRequest(
                "'\(commonName)' is not a host name, IP address or email, and no --san was given",
                hint: "clients match only the subject alternative names: add --san HOST"
            )
        }
        return names
    }

    static func makeExtensions(
        profile: CertificateProfile,
        key: PrivateKeyMaterial,
        names: [GeneralName],
        issuer: ParsedCertificate?
    ) throws -> Certificate.Extensions {
        let subjectKeyID = SubjectKeyIdentifier(hash: key.publicKey)
        let authorityKeyID: ArraySlice<UInt8> =
            if let issuer {
                (try? issuer.extensions.subjectKeyIdentifier)?.keyIdentifier
                    ?? ArraySlice(Insecure.SHA1.hash(data: issuer.x509?.publicKey.subjectPublicKeyInfoBytes ?? []))
            } else {
                subjectKeyID.keyIdentifier
            }
        let isRSA = if case .rsa = key.backing { true } else { false }
        var extensions = Certificate.Extensions()
        switch profile {
        case .rootCA, .intermediateCA:
            let pathLength: Int? = profile == .intermediateCA ? 0 : nil
            try extensions.append(
                Certificate.Extension(BasicConstraints.isCertificateAuthority(maxPathLength: pathLength), critical: true)
            )
            try extensions.append(
                Certificate.Extension(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true), critical: true)
            )
        case .leaf, .selfSigned:
            try extensions.append(Certificate.Extension(BasicConstraints.notCertificateAuthority, critical: true))
            try extensions.append(
                Certificate.Extension(KeyUsage(digitalSignature: true, keyEncipherment: isRSA), critical: true)
            )
            try extensions.append(
                Certificate.Extension(ExtendedKeyUsage([.serverAuth, .clientAuth]), critical: false)
            )
        }
        try extensions.append(Certificate.Extension(subjectKeyID, critical: false))
        try extensions.append(
            Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: authorityKeyID), critical: false)
        )
        if !names.isEmpty {
            try extensions.append(Certificate.Extension(SubjectAlternativeNames(names), critical: false))
        }
        return extensions
    }

    /// A positive 128-bit random serial number (RFC 5280 allows up to 20 octets; CA/B asks for 64 random bits).
    static func randomSerialNumber() -> Certificate.SerialNumber {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        if bytes[0] == 0 { bytes[0] = 1 }  // keep all 128 bits significant
        return Certificate.SerialNumber(bytes: bytes)
    }
}
