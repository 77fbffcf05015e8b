import Crypto

/// A public-key pin: SHA-256 of a DER SubjectPublicKeyInfo, in the forms other systems take.
public struct SPKIPin: Hashable, Sendable, Codable {
    /// What the key belongs to, e.g. `backend.test (leaf)`.
    public var label: String
    /// `sha256/<base64>`: curl `--pinnedpubkey`, HPKP, Envoy, OkHttp.
    public var pin: String
    /// The same digest in lower-case hex (`openssl dgst -sha256` output).
    public var hex: String

    public init(label: String, subjectPublicKeyInfo: [UInt8]) {
        let digest = Array(SHA256.hash(data: subjectPublicKeyInfo))
        self.label = label
        self.pin = "sha256/" + digest.base64String
        self.hex = digest.hexString
    }

    /// The pins of every certificate in a bundle (labelled by CN and chain role), then of every private key.
    public static func pins(of bundle: CertificateBundle) -> [SPKIPin] {
        let roles = ChainAnalysis.roles(of: bundle.certificates)
        var pins = zip(bundle.certificates, roles).map { certificate, role in
            SPKIPin(label: "\(certificate.displayName) (\(role))", subjectPublicKeyInfo: certificate.subjectPublicKeyInfo)
        }
        for (index, key) in bundle.privateKeys.enumerated() {
            let label = bundle.privateKeys.count == 1 ? "private key" : "private key \(index + 1)"
            pins.append(SPKIPin(label: "\(label) (\(key.description))", subjectPublicKeyInfo: key.subjectPublicKeyInfo))
        }
        return pins
    }
}
