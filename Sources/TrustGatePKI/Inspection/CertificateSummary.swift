import Foundation
import X509

/// One certificate as `cert inspect` reports it. The JSON keys are a documented, stable contract
/// (`trustgate-cert(1)`, JSON OUTPUT): add keys, never rename or remove them.
public struct CertificateSummary: Codable, Hashable, Sendable {
    /// RFC 4514 form, e.g. `CN=backend.test`.
    public var subject: String
    public var issuer: String
    /// Lower-case hex of the serial number, without sign padding.
    public var serial: String
    /// RFC 3339, UTC.
    public var notBefore: String
    public var notAfter: String
    /// Lower-case hex SHA-256 of the DER certificate.
    public var sha256: String
    /// Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo.
    public var spkiSha256: String
    /// `sha256/<base64>` of the SubjectPublicKeyInfo.
    public var spkiPin: String
    public var isCA: Bool
    /// `leaf`, `intermediate`, `root` or `self-signed`.
    public var role: String
    /// `DNS:…`, `IP:…`, `email:…`, `URI:…`.
    public var subjectAltNames: [String]
    /// `EC`, `RSA`, `Ed25519`, …
    public var keyType: String
    public var keySize: Int
    /// EC curve (`P-256`), absent for other keys.
    public var curve: String?
    /// OpenSSL's name, e.g. `ecdsa-with-SHA256`.
    public var signatureAlgorithm: String
    /// Why the certificate cannot be used for TLS here (e.g. a weak key), absent when it can.
    public var unusableReason: String?

    public init(_ certificate: ParsedCertificate, role: ChainAnalysis.Role) {
        subject = certificate.subject.description
        issuer = certificate.issuer.description
        serial = certificate.serialNumber.hexString
        notBefore = RFC3339.format(certificate.notBefore)
        notAfter = RFC3339.format(certificate.notAfter)
        sha256 = certificate.sha256.hexString
        spkiSha256 = certificate.spkiSHA256.hexString
        spkiPin = certificate.spkiPin
        isCA = certificate.isCA
        self.role = role.rawValue
        subjectAltNames = certificate.subjectAlternativeNames.map(SubjectAlternativeName.display)
        keyType = certificate.publicKey.algorithm
        keySize = certificate.publicKey.bits
        curve = certificate.publicKey.curve
        signatureAlgorithm = certificate.signatureAlgorithmName
        unusableReason = certificate.unusableReason
    }
}

/// A private key as `cert inspect` reports it: never its bytes.
public struct PrivateKeySummary: Codable, Hashable, Sendable {
    public var keyType: String
    public var keySize: Int
    public var curve: String?
    /// Index into `certificates` of the certificate this key belongs to, if any.
    public var matchesCertificate: Int?

    public init(_ key: PrivateKeyMaterial, certificates: [ParsedCertificate]) {
        let description = key.description
        keyType = description.algorithm
        keySize = description.bits
        curve = description.curve
        matchesCertificate = certificates.firstIndex(where: { key.matches($0) })
    }
}

/// What `cert inspect --json` prints for one file.
public struct InspectionReport: Codable, Hashable, Sendable {
    public var file: String
    /// `pem`, `der`, `base64` or `pkcs12`.
    public var format: String
    public var certificates: [CertificateSummary]
    public var hasPrivateKey: Bool
    public var privateKeys: [PrivateKeySummary]
    /// For a PKCS#12 file: how it is protected and who can open it.
    public var pkcs12: PKCS12Summary?
    /// The parts of the file that were reported instead of read: keys TrustGate cannot use or decrypt,
    /// certificates that are not strict DER, blocks it does not read.
    public var unreadable: [UnreadablePart]

    /// The container half of a PFX inspection.
    public struct PKCS12Summary: Codable, Hashable, Sendable {
        public var bags: [PFXContainerReport.Bag]
        public var mac: PFXContainerReport.MAC?
        public var opensIn: PFXCompatibility
    }

    public init(file: String, bundle: CertificateBundle) {
        self.file = file
        format = bundle.format.rawValue
        let roles = ChainAnalysis.roles(of: bundle.certificates)
        certificates = zip(bundle.certificates, roles).map { CertificateSummary($0, role: $1) }
        hasPrivateKey = !bundle.privateKeys.isEmpty || bundle.unreadable.contains { $0.kind == .privateKey }
        privateKeys = bundle.privateKeys.map { PrivateKeySummary($0, certificates: bundle.certificates) }
        pkcs12 = bundle.pfx.map { PKCS12Summary(bags: $0.bags, mac: $0.mac, opensIn: PFXCompatibility($0)) }
        unreadable = bundle.unreadable
    }
}
