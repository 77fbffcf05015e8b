import SwiftASN1

/// What a public or private key is: algorithm, size and curve, read from its SubjectPublicKeyInfo.
///
/// Kept apart from the crypto library's key types so that keys TrustGate can describe but not use
/// (RSA-1024, DSA, Ed448, brainpool curves) are still reported instead of failing the whole file.
public struct KeyDescription: Hashable, Sendable, Codable, CustomStringConvertible {
    /// `EC`, `RSA`, `RSA-PSS`, `Ed25519`, `Ed448`, `DSA`, or the dotted OID of anything else.
    public var algorithm: String
    /// Key size in bits: the modulus for RSA, the field size for EC and EdDSA.
    public var bits: Int
    /// The named curve for EC keys (`P-256`, `P-384`, `P-521`, or the OID).
    public var curve: String?

    public init(algorithm: String, bits: Int, curve: String? = nil) {
        self.algorithm = algorithm
        self.bits = bits
        self.curve = curve
    }

    public var description: String {
        if let curve { return "\(algorithm) \(curve)" }
        return "\(algorithm) \(bits)"
    }

    /// RSA keys under 2048 bits: refused by the CA/B baseline requirements, BoringSSL and this product.
    public var isWeak: Bool {
        (algorithm == "RSA" || algorithm == "RSA-PSS" || algorithm == "DSA") && bits < 2048
    }

    /// Describes the key in a DER SubjectPublicKeyInfo.
    public init(subjectPublicKeyInfo der: ArraySlice<UInt8>) throws {
        let root = try DER.parse(der)
        self = try DER.sequence(root, identifier: .sequence) { nodes in
            let (oid, parameters) = try AlgorithmIdentifierFields.read(&nodes)
            guard let keyNode = nodes.next() else {
                throw ASN1Error.invalidASN1Object(reason: "SubjectPublicKeyInfo has no key")
            }
            let key = try ASN1BitString(derEncoded: keyNode)
            return try KeyDescription(algorithmOID: oid, parameters: parameters, key: key.bytes)
        }
    }

    init(algorithmOID oid: ASN1ObjectIdentifier, parameters: ASN1Node?, key: ArraySlice<UInt8>) throws {
        switch oid.description {
        case "1.2.840.113549.1.1.1", "1.2.840.113549.1.1.10":
            let modulus = try DER.sequence(DER.parse(key), identifier: .sequence) { nodes in
                let modulus = try ArraySlice<UInt8>(derEncoded: &nodes)
                _ = try ArraySlice<UInt8>(derEncoded: &nodes)  // publicExponent
                return modulus
            }
            let name = oid.description.hasSuffix(".10") ? "RSA-PSS" : "RSA"
            self.init(algorithm: name, bits: Self.bitLength(of: modulus))
        case "1.2.840.10045.2.1":
            var curve = "unknown"
            if let parameters, let curveOID = try? ASN1ObjectIdentifier(derEncoded: parameters) {
                curve = Self.curveName(curveOID)
            }
            let bits: Int
            switch curve {
            case "P-256": bits = 256
            case "P-384": bits = 384
            case "P-521": bits = 521
            default: bits = max(0, (key.count - 1) / 2 * 8)
            }
            self.init(algorithm: "EC", bits: bits, curve: curve)
        case "1.3.101.112": self.init(algorithm: "Ed25519", bits: 256)
        case "1.3.101.113": self.init(algorithm: "Ed448", bits: 456)
        case "1.2.840.10040.4.1":
            // DSA: the size is that of p, in the parameters.
            var bits = 0
            if let parameters {
                bits = (try? DER.sequence(parameters, identifier: .sequence) { nodes in
                    let prime = try ArraySlice<UInt8>(derEncoded: &nodes)
                    while nodes.next() != nil {}  // q, g
                    return Self.bitLength(of: prime)
                }) ?? 0
            }
            self.init(algorithm: "DSA", bits: bits)
        default:
            self.init(algorithm: oid.description, bits: 0)
        }
    }

    static func curveName(_ oid: ASN1ObjectIdentifier) -> String {
        switch oid.description {
        case "1.2.840.10045.3.1.7": return "P-256"
        case "1.3.132.0.34": return "P-384"
        case "1.3.132.0.35": return "P-521"
        case "1.3.132.0.10": return "secp256k1"
        default: return oid.description
        }
    }

    /// Bit length of a big-endian unsigned integer (leading zero bytes ignored).
    static func bitLength(of integer: ArraySlice<UInt8>) -> Int {
        guard let first = integer.firstIndex(where: { $0 != 0 }) else { return 0 }
        let leading = integer[first].leadingZeroBitCount
        return (integer.endIndex - first) * 8 - leading
    }
}

/// Reads an `AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }`.
enum AlgorithmIdentifierFields {
    static func read(_ nodes: inout ASN1NodeCollection.Iterator) throws -> (ASN1ObjectIdentifier, ASN1Node?) {
        guard let node = nodes.next() else {
            throw ASN1Error.invalidASN1Object(reason: "missing AlgorithmIdentifier")
        }
        return try read(node)
    }

    /// Reads one AlgorithmIdentifier node.
    static func read(_ node: ASN1Node) throws -> (ASN1ObjectIdentifier, ASN1Node?) {
        try DER.sequence(node, identifier: .sequence) { inner in
            let oid = try ASN1ObjectIdentifier(derEncoded: &inner)
            let parameters = inner.next()
            guard inner.next() == nil else {
                throw ASN1Error.invalidASN1Object(reason: "an AlgorithmIdentifier has more than two fields")
            }
            return (oid, parameters)
        }
    }
}
