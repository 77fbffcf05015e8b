/// What an allow-list entry trusts.
public enum EntryKind: String, CaseIterable, Sendable, Codable {
    /// A backend's own certificate, matched by its SHA-256 (Azure v1 "authentication certificate").
    case pinned
    /// A root CA: backends whose chain validates to it, for the expected host name (Azure v2 "trusted root").
    case trustedRoot = "trusted-root"
    /// A public-key pin (`sha256/<base64>` of the SubjectPublicKeyInfo) at any level of the chain; survives a
    /// certificate renewal that keeps the key.
    case spkiPin = "spki-pin"
}
