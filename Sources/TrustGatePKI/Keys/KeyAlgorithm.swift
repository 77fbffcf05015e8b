import Crypto
import X509
import _CryptoExtras

/// The key types `cert create` can generate, named as on the command line.
public enum KeyAlgorithm: String, CaseIterable, Sendable, Codable {
    case ecP256 = "ec-p256"
    case ecP384 = "ec-p384"
    case rsa2048 = "rsa-2048"
    case rsa3072 = "rsa-3072"
    case rsa4096 = "rsa-4096"
    case ed25519 = "ed25519"
    /// RSA-1024: only for the deliberately weak test certificate; not offered on the command line.
    case rsa1024Weak = "rsa-1024"

    /// The key types offered to users (everything but the deliberately weak one).
    public static var offered: [KeyAlgorithm] { allCases.filter { $0 != .rsa1024Weak } }

    /// Generates a fresh key of this type.
    public func generate() throws(PKIError) -> PrivateKeyMaterial {
        do {
            switch self {
            case .ecP256: return PrivateKeyMaterial(.p256(P256.Signing.PrivateKey()))
            case .ecP384: return PrivateKeyMaterial(.p384(P384.Signing.PrivateKey()))
            case .ed25519: return PrivateKeyMaterial(.ed25519(Curve25519.Signing.PrivateKey()))
            case .rsa2048: return PrivateKeyMaterial(.rsa(try _RSA.Signing.PrivateKey(keySize: .bits2048)))
            case .rsa3072: return PrivateKeyMaterial(.rsa(try _RSA.Signing.PrivateKey(keySize: .bits3072)))
            case .rsa4096: return PrivateKeyMaterial(.rsa(try _RSA.Signing.PrivateKey(keySize: .bits4096)))
            case .rsa1024Weak:
                return PrivateKeyMaterial(.rsa(try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))))
            }
        } catch {
            throw .creationFailed("cannot generate a \(rawValue) key: \(error)")
        }
    }
}
