import Crypto
import SwiftASN1
import X509
import _CryptoExtras

/// A private key TrustGate can sign with, whatever format it was read from.
///
/// Written out only as unencrypted PKCS#8 PEM (what OpenSSL 3, GnuTLS, Go and Java all read), always to a
/// 0600 file; its bytes never go to logs or standard output.
public struct PrivateKeyMaterial: Sendable {
    /// The concrete key.
    public enum Backing: Sendable {
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case p521(P521.Signing.PrivateKey)
        case rsa(_RSA.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    public let backing: Backing

    public init(_ backing: Backing) {
        self.backing = backing
    }

    /// The key as swift-certificates signs with it.
    public var certificateKey: Certificate.PrivateKey {
        switch backing {
        case .p256(let key): return Certificate.PrivateKey(key)
        case .p384(let key): return Certificate.PrivateKey(key)
        case .p521(let key): return Certificate.PrivateKey(key)
        case .rsa(let key): return Certificate.PrivateKey(key)
        case .ed25519(let key): return Certificate.PrivateKey(key)
        }
    }

    /// The matching public key, as it goes into a certificate.
    public var publicKey: Certificate.PublicKey { certificateKey.publicKey }

    /// The DER SubjectPublicKeyInfo of the public key.
    public var subjectPublicKeyInfo: [UInt8] {
        var serializer = DER.Serializer()
        // Serialising a key the library just made cannot fail; an empty result never matches a certificate.
        guard (try? serializer.serialize(publicKey)) != nil else { return [] }
        return serializer.serializedBytes
    }

    /// Algorithm and size.
    public var description: KeyDescription {
        switch backing {
        case .p256: return KeyDescription(algorithm: "EC", bits: 256, curve: "P-256")
        case .p384: return KeyDescription(algorithm: "EC", bits: 384, curve: "P-384")
        case .p521: return KeyDescription(algorithm: "EC", bits: 521, curve: "P-521")
        case .rsa(let key): return KeyDescription(algorithm: "RSA", bits: key.keySizeInBits)
        case .ed25519: return KeyDescription(algorithm: "Ed25519", bits: 256)
        }
    }

    /// The signature algorithm a CA with this key signs with: SHA-256 for P-256 and RSA, SHA-384 for P-384.
    public var defaultSignatureAlgorithm: Certificate.SignatureAlgorithm {
        switch backing {
        case .p256: return .ecdsaWithSHA256
        case .p384: return .ecdsaWithSHA384
        case .p521: return .ecdsaWithSHA512
        case .rsa: return .sha256WithRSAEncryption
        case .ed25519: return .ed25519
        }
    }

    /// Unencrypted PKCS#8 DER.
    public func pkcs8DER() throws(PKIError) -> [UInt8] {
        switch backing {
        case .rsa(let key):
            return Array(key.pkcs8DERRepresentation)
        default:
            do {
                return try certificateKey.serializeAsPEM().derBytes
            } catch {
                throw .creationFailed("cannot encode the private key: \(error)")
            }
        }
    }

    /// Unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    public func pkcs8PEM() throws(PKIError) -> String {
        PEMBlock(label: "PRIVATE KEY", der: try pkcs8DER()).encoded()
    }

    /// Whether this key is the private half of the certificate's public key.
    public func matches(_ certificate: ParsedCertificate) -> Bool {
        subjectPublicKeyInfo == certificate.subjectPublicKeyInfo
    }
}

extension PrivateKeyMaterial {
    /// Reads a private key from a PEM block: PKCS#8 (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`) or
    /// PKCS#1 (`RSA PRIVATE KEY`).
    public init(pemBlock block: PEMBlock) throws(PKIError) {
        if block.isLegacyEncrypted {
            let cipher = block.headers.first { $0.lowercased().hasPrefix("dek-info:") }
                .flatMap { $0.dropFirst("dek-info:".count).split(separator: ",").first }  // the cipher, not the IV
                .map { ", " + $0.trimmingCharacters(in: .whitespaces) } ?? ""
            throw .unsupportedInput(
                "the private key is encrypted (legacy PEM encryption\(cipher))",
                hint: "decrypt it first: openssl pkey -in KEY -out KEY.plain (prompts for the password)"
            )
        }
        switch block.label {
        case "PRIVATE KEY":
            try self.init(pkcs8DER: block.der)
        case "EC PRIVATE KEY":
            try self.init(sec1DER: block.der)
        case "RSA PRIVATE KEY":
            try self.init(rsaDER: block.der)
        case "ENCRYPTED PRIVATE KEY":
            throw .unsupportedInput(
                "the private key is encrypted (PKCS#8 ENCRYPTED PRIVATE KEY)",
                hint: "decrypt it first: openssl pkcs8 -in KEY -out KEY.plain (prompts for the password)"
            )
        default:
            throw .malformedInput("a PEM block labelled \(block.label) is not a private key")
        }
    }

    /// Reads an unencrypted PKCS#8 private key.
    public init(pkcs8DER der: [UInt8]) throws(PKIError) {
        guard let fields = try? PKCS8Fields(der: der) else {
            throw .malformedInput("not a readable PKCS#8 private key")
        }
        switch fields.algorithmOID {
        case "1.2.840.113549.1.1.1":
            try self.init(rsaDER: fields.privateKey)
        case "1.2.840.10045.2.1":
            try self.init(sec1DER: fields.privateKey, curveOID: fields.curveOID)
        case "1.3.101.112":
            guard let seed = try? fields.ed25519Seed(),
                let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            else {
                throw .malformedInput("not a readable Ed25519 private key")
            }
            self.init(.ed25519(key))
        default:
            throw .unsupportedInput("\(fields.keyDescription) private keys are not supported (EC, RSA and Ed25519 are)")
        }
    }

    /// What the key in a PEM block is, told from its structure alone, for keys this type cannot hold (DSA,
    /// Ed448, X25519, other curves) and for keys it can; nil when encrypted or unreadable.
    public static func describe(pemBlock block: PEMBlock) -> KeyDescription? {
        guard !block.isLegacyEncrypted else { return nil }
        switch block.label {
        case "PRIVATE KEY":
            return (try? PKCS8Fields(der: block.der))?.keyDescription
        case "DSA PRIVATE KEY":
            // OpenSSL's traditional form: SEQUENCE { version, p, q, g, y, x }; the size is p's.
            let prime = try? DER.sequence(DER.parse(block.der), identifier: .sequence) { nodes in
                _ = try Int(derEncoded: &nodes)
                let prime = try ArraySlice<UInt8>(derEncoded: &nodes)
                while nodes.next() != nil {}
                return prime
            }
            return prime.map { KeyDescription(algorithm: "DSA", bits: KeyDescription.bitLength(of: $0)) }
        default:
            return (try? PrivateKeyMaterial(pemBlock: block))?.description
        }
    }

    /// Reads a SEC1 `ECPrivateKey` (RFC 5915). The curve comes from the key's own parameters or, inside
    /// PKCS#8, from the algorithm identifier. The scalar is normalised to the curve's size, because GnuTLS writes
    /// it with a leading zero byte.
    public init(sec1DER der: [UInt8], curveOID: String? = nil) throws(PKIError) {
        let parsed: (scalar: ArraySlice<UInt8>, curve: String?)
        do {
            parsed = try DER.sequence(DER.parse(der), identifier: .sequence) { nodes in
                _ = try Int(derEncoded: &nodes)
                let scalar = try ASN1OctetString(derEncoded: &nodes).bytes
                let curve = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) {
                    try ASN1ObjectIdentifier(derEncoded: $0).description
                }
                while nodes.next() != nil {}  // [1] publicKey: recomputed from the scalar
                return (scalar, curve)
            }
        } catch {
            throw .malformedInput("not a readable EC private key")
        }
        func normalised(_ size: Int) throws(PKIError) -> [UInt8] {
            let significant = parsed.scalar.drop(while: { $0 == 0 })
            guard significant.count <= size, !significant.isEmpty else {
                throw .malformedInput("the EC private key does not fit its curve")
            }
            return [UInt8](repeating: 0, count: size - significant.count) + significant
        }
        do {
            switch parsed.curve ?? curveOID {
            case "1.2.840.10045.3.1.7": self.init(.p256(try P256.Signing.PrivateKey(rawRepresentation: normalised(32))))
            case "1.3.132.0.34": self.init(.p384(try P384.Signing.PrivateKey(rawRepresentation: normalised(48))))
            case "1.3.132.0.35": self.init(.p521(try P521.Signing.PrivateKey(rawRepresentation: normalised(66))))
            case let other:
                throw PKIError.unsupportedInput(
                    "EC keys on curve \(other ?? "(unnamed)") are not supported (P-256, P-384 and P-521 are)"
                )
            }
        } catch let error as PKIError {
            throw error
        } catch {
            throw .malformedInput("not a valid EC private key: \(error)")
        }
    }

    /// Reads a PKCS#1 `RSAPrivateKey`. Keys under 2048 bits are read (they can be inspected and are
    /// reported as weak); swift-crypto keeps them behind its `unsafe` initialiser.
    public init(rsaDER der: [UInt8]) throws(PKIError) {
        guard let rsa = try? _RSA.Signing.PrivateKey(unsafeDERRepresentation: der) else {
            throw .malformedInput("not a readable RSA private key")
        }
        self.init(.rsa(rsa))
    }
}

/// The algorithm and inner key of a PKCS#8 `PrivateKeyInfo`.
struct PKCS8Fields {
    var algorithmOID: String
    /// For EC keys: the named curve in the algorithm parameters.
    var curveOID: String?
    var privateKey: [UInt8]
    /// What the key is, told from the algorithm identifier (and, for RSA, the modulus).
    var keyDescription: KeyDescription

    init(der: [UInt8]) throws {
        (algorithmOID, curveOID, privateKey, keyDescription) = try DER.sequence(DER.parse(der), identifier: .sequence) {
            nodes in
            _ = try Int(derEncoded: &nodes)
            let (oid, parameters) = try AlgorithmIdentifierFields.read(&nodes)
            let key = try ASN1OctetString(derEncoded: &nodes)
            while nodes.next() != nil {}  // attributes [0], publicKey [1]
            let curve = parameters.flatMap { try? ASN1ObjectIdentifier(derEncoded: $0).description }
            return (oid.description, curve, Array(key.bytes), Self.describe(oid, parameters: parameters, key: key.bytes))
        }
    }

    private static func describe(_ oid: ASN1ObjectIdentifier, parameters: ASN1Node?, key: ArraySlice<UInt8>)
        -> KeyDescription
    {
        switch oid.description {
        case "1.2.840.113549.1.1.1", "1.2.840.113549.1.1.10":
            // RSAPrivateKey ::= SEQUENCE { version, modulus, … }
            let modulus = try? DER.sequence(DER.parse(key), identifier: .sequence) { nodes in
                _ = try Int(derEncoded: &nodes)
                let modulus = try ArraySlice<UInt8>(derEncoded: &nodes)
                while nodes.next() != nil {}
                return modulus
            }
            return KeyDescription(algorithm: oid.description.hasSuffix(".10") ? "RSA-PSS" : "RSA",
                                  bits: modulus.map { KeyDescription.bitLength(of: $0) } ?? 0)
        case "1.3.101.110": return KeyDescription(algorithm: "X25519", bits: 256)
        case "1.3.101.111": return KeyDescription(algorithm: "X448", bits: 448)
        default:
            // DSA, EC and EdDSA are told from the identifier alone; the public-key reader knows them.
            return (try? KeyDescription(algorithmOID: oid, parameters: parameters, key: []))
                ?? KeyDescription(algorithm: oid.description, bits: 0)
        }
    }

    /// Ed25519's PKCS#8 key is an OCTET STRING wrapping the 32-byte seed (RFC 8410 §7).
    func ed25519Seed() throws -> [UInt8] {
        Array(try ASN1OctetString(derEncoded: privateKey).bytes)
    }
}
