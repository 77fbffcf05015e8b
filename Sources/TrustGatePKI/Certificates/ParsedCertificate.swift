import Crypto
import Foundation
import SwiftASN1
import X509

/// One X.509 certificate as read from a file: its exact DER, the fields TrustGate reports, and the
/// swift-certificates `Certificate` when that library accepts it.
///
/// The fields are read with our own small TBSCertificate reader so that a certificate the library refuses
/// (an RSA-1024 key, DSA, an unknown curve) can still be inspected, pinned and rejected with a reason
/// instead of failing the whole file. `x509` is `nil` exactly then, and `unusableReason` says why.
public struct ParsedCertificate: Hashable, Sendable {
    /// The certificate's DER encoding, byte for byte as read.
    public let der: [UInt8]
    /// SHA-256 of the DER certificate: its fingerprint (computed once: it keys caches and trust stores).
    public let sha256: [UInt8]
    /// The library's view of the certificate, when it accepts the certificate.
    public let x509: Certificate?
    /// Why `x509` is `nil`: what swift-certificates refused.
    public let unusableReason: String?

    /// 1, 2 or 3.
    public let version: Int
    /// The serial number, big-endian, without sign padding (as `openssl x509 -serial` prints it).
    public let serialNumber: [UInt8]
    public let issuer: DistinguishedName
    public let subject: DistinguishedName
    public let notBefore: Date
    public let notAfter: Date
    /// The DER of the SubjectPublicKeyInfo, exactly as encoded in the certificate.
    public let subjectPublicKeyInfo: [UInt8]
    public let publicKey: KeyDescription
    public let signatureAlgorithmOID: ASN1ObjectIdentifier
    public let extensions: Certificate.Extensions

    /// Reads a DER certificate.
    public init(der: [UInt8]) throws(PKIError) {
        do {
            let fields = try TBSFields(der: der)
            self.der = der
            self.sha256 = Array(SHA256.hash(data: der))
            self.version = fields.version
            self.serialNumber = fields.serialNumber
            self.issuer = fields.issuer
            self.subject = fields.subject
            self.notBefore = fields.notBefore
            self.notAfter = fields.notAfter
            self.subjectPublicKeyInfo = fields.subjectPublicKeyInfo
            self.publicKey = fields.publicKey
            self.signatureAlgorithmOID = fields.signatureAlgorithmOID
            self.extensions = fields.extensions
        } catch let error as PKIError {
            throw error
        } catch {
            throw .malformedInput("not a valid X.509 certificate: \(PKIError.sentence(error))")
        }
        do {
            self.x509 = try Certificate(derEncoded: der)
            self.unusableReason = nil
        } catch {
            // Only a key the crypto library cannot use leaves a certificate readable but unusable; anything else
            // the library refuses is a defect of the certificate itself, and the certificate is refused.
            let spki = subjectPublicKeyInfo
            guard (try? Certificate.PublicKey(derEncoded: DER.parse(spki))) == nil else {
                throw .malformedInput("not a valid X.509 certificate: \(PKIError.sentence(error))")
            }
            self.x509 = nil
            if publicKey.isWeak {
                self.unusableReason = "\(publicKey.algorithm)-\(publicKey.bits) key is too weak (at least 2048 bits)"
            } else {
                self.unusableReason = "a \(publicKey) public key, which TrustGate cannot verify with (EC, RSA and Ed25519)"
            }
        }
    }

    /// Wraps a certificate made by swift-certificates.
    public init(_ certificate: Certificate) throws(PKIError) {
        var serializer = DER.Serializer()
        do {
            try serializer.serialize(certificate)
        } catch {
            throw .creationFailed("cannot encode certificate: \(error)")
        }
        try self.init(der: serializer.serializedBytes)
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo: the value of an HPKP/Envoy/curl SPKI pin.
    public var spkiSHA256: [UInt8] { Array(SHA256.hash(data: subjectPublicKeyInfo)) }

    /// The pin in the `sha256/<base64>` form used by curl `--pinnedpubkey`, HPKP and Azure-style pinning.
    public var spkiPin: String { "sha256/" + spkiSHA256.base64String }

    /// Whether basicConstraints says CA:TRUE.
    public var isCA: Bool {
        if case .isCertificateAuthority = (try? extensions.basicConstraints) ?? .notCertificateAuthority {
            return true
        }
        return false
    }

    /// The subject alternative names, as typed entries.
    public var subjectAlternativeNames: [GeneralName] {
        guard let names = try? extensions.subjectAlternativeNames else { return [] }
        return Array(names)
    }

    /// The subject's commonName attributes.
    public var commonNames: [String] {
        subject.flatMap { $0 }.compactMap { attribute in
            attribute.type == .RDNAttributeType.commonName ? attributeString(attribute.value) : nil
        }
    }

    /// Issuer and subject names are the same.
    public var isSelfIssued: Bool { issuer == subject }

    /// Self-issued and its signature verifies under its own public key.
    public var isSelfSigned: Bool {
        guard isSelfIssued, let x509 else { return false }
        return x509.publicKey.isValidSignature(x509.signature, for: x509)
    }

    /// Whether `issuer`'s public key verifies this certificate's signature.
    public func isSigned(by issuer: ParsedCertificate) -> Bool {
        guard self.issuer == issuer.subject, let x509, let issuerX509 = issuer.x509 else { return false }
        return issuerX509.publicKey.isValidSignature(x509.signature, for: x509)
    }

    /// The OpenSSL name of the signature algorithm (`ecdsa-with-SHA256`, `sha256WithRSAEncryption`, …).
    public var signatureAlgorithmName: String { SignatureAlgorithmName.name(for: signatureAlgorithmOID) }

    /// SHA-1 or MD5 signature.
    public var hasWeakSignature: Bool { SignatureAlgorithmName.isWeak(signatureAlgorithmOID) }

    /// The certificate as a PEM block.
    public var pem: String { PEMBlock(label: "CERTIFICATE", der: der).encoded() }

    /// A short human label: the first CN, else the whole subject.
    public var displayName: String { commonNames.first ?? subject.description }
}

private func attributeString(_ value: RelativeDistinguishedName.Attribute.Value) -> String {
    String(value) ?? value.description
}
