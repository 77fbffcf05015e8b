import SwiftASN1

/// How a PKCS#12 file is built: the protection of each part and its MAC, read from its ASN.1 structure
/// (RFC 7292) without decrypting anything. BER is accepted, as Windows and Java write it.
public struct PFXContainerReport: Codable, Hashable, Sendable {
    /// One protected (or plain) part of the file.
    public struct Bag: Codable, Hashable, Sendable {
        /// `certificates` (an encrypted or plain SafeContents), `key` (a shrouded or plain key bag).
        public var contents: String
        /// OpenSSL's name: `PBES2`, `pbeWithSHA1And3-KeyTripleDES-CBC`, `pbeWithSHA1And40BitRC2-CBC`, or `none`.
        public var encryption: String
        /// The cipher: `AES-256-CBC`, `AES-128-CBC`, `3DES`, `RC2-40`, `RC2-128`, `RC4-128`, `RC4-40`, or `none`.
        public var cipher: String
        /// PBKDF2's PRF for PBES2 (`hmacWithSHA256`), absent for PKCS#12 PBE.
        public var prf: String?
        /// KDF iterations.
        public var iterations: Int?
    }

    /// The integrity MAC.
    public struct MAC: Codable, Hashable, Sendable {
        /// `SHA-1`, `SHA-256`, `SHA-384`, `SHA-512`, or the OID.
        public var algorithm: String
        public var iterations: Int
    }

    public var bags: [Bag]
    /// Absent when the file has no MAC (some certificate-only files).
    public var mac: MAC?

    /// Reads the structure. Throws `malformedInput` when the bytes are not a PKCS#12 PFX.
    public init(der: [UInt8]) throws(PKIError) {
        do {
            (bags, mac) = try Self.read(der)
        } catch {
            let truncated = "\(error)".contains("truncated")
            throw .malformedInput(
                "not a valid PKCS#12 (PFX) file: " + (truncated ? "it is truncated" : "its structure is corrupted")
            )
        }
    }

    /// Whether any part uses PBES2 (AES).
    public var usesPBES2: Bool { bags.contains { $0.encryption == "PBES2" } }

    /// Whether any part needs OpenSSL's legacy provider (RC2, RC4, single DES).
    public var needsLegacyProvider: Bool {
        bags.contains { ["RC2-40", "RC2-128", "RC4-40", "RC4-128", "DES"].contains($0.cipher) }
    }

    private static let dataOID = "1.2.840.113549.1.7.1"
    private static let encryptedDataOID = "1.2.840.113549.1.7.6"

    private static func read(_ der: [UInt8]) throws -> ([Bag], MAC?) {
        try BER.sequence(BER.parse(der), identifier: .sequence) { nodes in
            let version = try Int(berEncoded: &nodes)
            guard version == 3 else { throw ASN1Error.invalidASN1Object(reason: "PFX version \(version), not 3") }
            guard let authSafe = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no authSafe") }
            let (type, content) = try contentInfo(authSafe)
            guard type == dataOID, let content else {
                throw ASN1Error.invalidASN1Object(reason: "public-key integrity mode is not supported")
            }
            let authenticatedSafe = try octets(content)
            var bags: [Bag] = []
            try BER.sequence(BER.parse(authenticatedSafe), identifier: .sequence) { safes in
                while let safe = safes.next() {
                    bags += try self.bags(in: safe)
                }
            }
            var mac: MAC?
            if let macData = nodes.next() {
                mac = try BER.sequence(macData, identifier: .sequence) { fields in
                    guard let digest = fields.next() else {
                        throw ASN1Error.invalidASN1Object(reason: "MacData without a digest")
                    }
                    let digestAlgorithm = try BER.sequence(digest, identifier: .sequence) { digestInfo in
                        let (oid, _) = try algorithm(digestInfo.next())
                        while digestInfo.next() != nil {}
                        return oid
                    }
                    _ = fields.next()  // salt
                    let iterations = try fields.next().map { try Int(berEncoded: $0) } ?? 1
                    return MAC(algorithm: digestName(digestAlgorithm), iterations: iterations)
                }
            }
            while nodes.next() != nil {}
            return (bags, mac)
        }
    }

    /// The bags of one ContentInfo of the AuthenticatedSafe.
    private static func bags(in safe: ASN1Node) throws -> [Bag] {
        let (type, content) = try contentInfo(safe)
        switch type {
        case dataOID:
            guard let content else { return [] }
            return try safeContents(octets(content))
        case encryptedDataOID:
            guard let content else { return [] }
            return try BER.sequence(content, identifier: .sequence) { fields in
                _ = try Int(berEncoded: &fields)
                guard let encryptedContentInfo = fields.next() else {
                    throw ASN1Error.invalidASN1Object(reason: "EncryptedData without content")
                }
                while fields.next() != nil {}
                return try BER.sequence(encryptedContentInfo, identifier: .sequence) { info in
                    _ = try ASN1ObjectIdentifier(berEncoded: &info)
                    let (oid, parameters) = try algorithm(info.next())
                    while info.next() != nil {}
                    return [try describe(contents: "certificates", oid: oid, parameters: parameters)]
                }
            }
        default:
            return [Bag(contents: "unknown (\(type))", encryption: "unknown", cipher: "unknown")]
        }
    }

    /// Plain SafeContents: key bags and shrouded key bags are reported; certificate bags in plain data count as
    /// unencrypted certificates.
    private static func safeContents(_ bytes: [UInt8]) throws -> [Bag] {
        var found: [Bag] = []
        var plainCertificates = false
        try BER.sequence(BER.parse(bytes), identifier: .sequence) { bags in
            while let bag = bags.next() {
                try BER.sequence(bag, identifier: .sequence) { fields in
                    let bagID = try ASN1ObjectIdentifier(berEncoded: &fields).description
                    let value = try fields.next().map { node in
                        try BER.explicitlyTagged(node, tagNumber: 0, tagClass: .contextSpecific) { $0 }
                    }
                    while fields.next() != nil {}
                    switch bagID {
                    case "1.2.840.113549.1.12.10.1.2":  // pkcs8ShroudedKeyBag
                        guard let value else { return }
                        try BER.sequence(value, identifier: .sequence) { info in
                            let (oid, parameters) = try algorithm(info.next())
                            while info.next() != nil {}
                            found.append(try describe(contents: "key", oid: oid, parameters: parameters))
                        }
                    case "1.2.840.113549.1.12.10.1.1":  // keyBag
                        found.append(Bag(contents: "key", encryption: "none", cipher: "none"))
                    case "1.2.840.113549.1.12.10.1.3":  // certBag
                        plainCertificates = true
                    default:
                        break
                    }
                }
            }
        }
        if plainCertificates { found.insert(Bag(contents: "certificates", encryption: "none", cipher: "none"), at: 0) }
        return found
    }

    private static func describe(contents: String, oid: String, parameters: ASN1Node?) throws -> Bag {
        let pkcs12PBE: [String: (String, String)] = [
            "1.2.840.113549.1.12.1.1": ("pbeWithSHA1And128BitRC4", "RC4-128"),
            "1.2.840.113549.1.12.1.2": ("pbeWithSHA1And40BitRC4", "RC4-40"),
            "1.2.840.113549.1.12.1.3": ("pbeWithSHA1And3-KeyTripleDES-CBC", "3DES"),
            "1.2.840.113549.1.12.1.4": ("pbeWithSHA1And2-KeyTripleDES-CBC", "2-key 3DES"),
            "1.2.840.113549.1.12.1.5": ("pbeWithSHA1And128BitRC2-CBC", "RC2-128"),
            "1.2.840.113549.1.12.1.6": ("pbeWithSHA1And40BitRC2-CBC", "RC2-40"),
        ]
        if let (name, cipher) = pkcs12PBE[oid] {
            let iterations = try parameters.map { node in
                try BER.sequence(node, identifier: .sequence) { fields in
                    _ = fields.next()  // salt
                    let count = try Int(berEncoded: &fields)
                    while fields.next() != nil {}
                    return count
                }
            }
            return Bag(contents: contents, encryption: name, cipher: cipher, prf: nil, iterations: iterations)
        }
        guard oid == "1.2.840.113549.1.5.13", let parameters else {
            return Bag(contents: contents, encryption: oid, cipher: "unknown")
        }
        // PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme AlgorithmIdentifier }
        return try BER.sequence(parameters, identifier: .sequence) { fields in
            let (kdf, kdfParameters) = try algorithm(fields.next())
            let (scheme, _) = try algorithm(fields.next())
            while fields.next() != nil {}
            var prf = "hmacWithSHA1"
            var iterations: Int?
            if kdf == "1.2.840.113549.1.5.12", let kdfParameters {
                try BER.sequence(kdfParameters, identifier: .sequence) { pbkdf2 in
                    _ = pbkdf2.next()  // salt
                    iterations = try Int(berEncoded: &pbkdf2)
                    while let node = pbkdf2.next() {
                        if node.identifier == .sequence { prf = prfName(try algorithm(node).0) }
                    }
                }
            }
            return Bag(
                contents: contents, encryption: "PBES2", cipher: cipherName(scheme),
                prf: kdf == "1.2.840.113549.1.5.12" ? prf : kdf, iterations: iterations
            )
        }
    }

    private static func contentInfo(_ node: ASN1Node) throws -> (String, ASN1Node?) {
        try BER.sequence(node, identifier: .sequence) { fields in
            let type = try ASN1ObjectIdentifier(berEncoded: &fields).description
            let content = try fields.next().map { node in
                try BER.explicitlyTagged(node, tagNumber: 0, tagClass: .contextSpecific) { $0 }
            }
            while fields.next() != nil {}
            return (type, content)
        }
    }

    private static func algorithm(_ node: ASN1Node?) throws -> (String, ASN1Node?) {
        guard let node else { throw ASN1Error.invalidASN1Object(reason: "missing AlgorithmIdentifier") }
        return try BER.sequence(node, identifier: .sequence) { fields in
            let oid = try ASN1ObjectIdentifier(berEncoded: &fields).description
            let parameters = fields.next()
            while fields.next() != nil {}
            return (oid, parameters)
        }
    }

    /// The bytes of an OCTET STRING, primitive or (BER) constructed from segments.
    private static func octets(_ node: ASN1Node) throws -> [UInt8] {
        try ASN1OctetString(berEncoded: node).bytes.map { $0 }
    }

    private static func digestName(_ oid: String) -> String {
        switch oid {
        case "1.3.14.3.2.26": return "SHA-1"
        case "2.16.840.1.101.3.4.2.1": return "SHA-256"
        case "2.16.840.1.101.3.4.2.2": return "SHA-384"
        case "2.16.840.1.101.3.4.2.3": return "SHA-512"
        default: return oid
        }
    }

    private static func prfName(_ oid: String) -> String {
        switch oid {
        case "1.2.840.113549.2.7": return "hmacWithSHA1"
        case "1.2.840.113549.2.9": return "hmacWithSHA256"
        case "1.2.840.113549.2.10": return "hmacWithSHA384"
        case "1.2.840.113549.2.11": return "hmacWithSHA512"
        default: return oid
        }
    }

    private static func cipherName(_ oid: String) -> String {
        switch oid {
        case "2.16.840.1.101.3.4.1.2": return "AES-128-CBC"
        case "2.16.840.1.101.3.4.1.22": return "AES-192-CBC"
        case "2.16.840.1.101.3.4.1.42": return "AES-256-CBC"
        case "1.2.840.113549.3.7": return "3DES"
        case "1.3.14.3.2.7": return "DES"
        case "1.2.840.113549.3.2": return "RC2-CBC"
        default: return oid
        }
    }
}
