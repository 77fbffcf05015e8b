/// A part of an input file that tolerant reading reported instead of refusing the file: a certificate that is
/// not strict DER, a key TrustGate cannot use or cannot decrypt, a block it does not read.
///
/// Only `cert inspect` reads tolerantly; every trust decision reads strictly and refuses such a file.
public struct UnreadablePart: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, Codable {
        case certificate
        case privateKey
        /// A block that is neither: a CSR, parameters, a public key, a label TrustGate does not know.
        case other
    }

    public var kind: Kind
    /// Where it stands: the PEM block's place in the file (1 is the first block), or the PFX bag's.
    public var position: Int
    /// The PEM label (`ENCRYPTED PRIVATE KEY`), or what the part of a PFX is.
    public var label: String
    /// Why it was not read, as the strict reader would have said.
    public var reason: String
    /// What the key is, where its algorithm and size can be told without using it (DSA 2048, say).
    public var key: KeyDescription?
    /// For a certificate: the SHA-256 of its DER, hex, so that it can be found with other tools.
    public var sha256: String?
    /// Whether the file's encoding itself is broken here (truncated, not Base64), not only this part.
    public var brokenEncoding: Bool

    public init(
        kind: Kind, position: Int, label: String, reason: String, key: KeyDescription? = nil, sha256: String? = nil,
        brokenEncoding: Bool = false
    ) {
        self.kind = kind
        self.position = position
        self.label = label
        self.reason = reason
        self.key = key
        self.sha256 = sha256
        self.brokenEncoding = brokenEncoding
    }

    /// A certificate that does not parse, or a broken encoding, is a defect of the file; an unusable key or an
    /// unread block is only something to know.
    public var isDefect: Bool { kind == .certificate || brokenEncoding }

    public var description: String {
        let what = key.map { "\(label), \($0)" } ?? label
        return "block \(position) (\(what)): \(reason)"
    }

    // Flat, as `cert inspect --json` writes certificates and keys: keyType, keySize, curve.
    private enum CodingKeys: String, CodingKey {
        case kind, position, label, reason, keyType, keySize, curve, sha256, brokenEncoding
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(Kind.self, forKey: .kind)
        position = try container.decode(Int.self, forKey: .position)
        label = try container.decode(String.self, forKey: .label)
        reason = try container.decode(String.self, forKey: .reason)
        sha256 = try container.decodeIfPresent(String.self, forKey: .sha256)
        brokenEncoding = try container.decodeIfPresent(Bool.self, forKey: .brokenEncoding) ?? false
        key = try container.decodeIfPresent(String.self, forKey: .keyType).map {
            KeyDescription(algorithm: $0, bits: (try? container.decode(Int.self, forKey: .keySize)) ?? 0,
                           curve: try? container.decode(String.self, forKey: .curve))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(position, forKey: .position)
        try container.encode(label, forKey: .label)
        try container.encode(reason, forKey: .reason)
        try container.encodeIfPresent(key?.algorithm, forKey: .keyType)
        try container.encodeIfPresent(key.map(\.bits), forKey: .keySize)
        try container.encodeIfPresent(key?.curve, forKey: .curve)
        try container.encodeIfPresent(sha256, forKey: .sha256)
        if brokenEncoding { try container.encode(true, forKey: .brokenEncoding) }
    }
}
