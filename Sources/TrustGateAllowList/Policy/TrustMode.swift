/// How a gateway decides that a backend is allowed (a backend setting's `trust:`).
public enum TrustMode: String, CaseIterable, Sendable, Codable {
    /// The backend's certificate (or a key at any level of its chain) must be pinned: Azure v1.
    case pinned
    /// The chain must validate to a trusted root of the allow-list, for the expected host name: Azure v2.
    case trustedRoot = "trusted-root"
    /// The chain must validate to a well-known CA of the system trust store: Azure v2 "well-known CA".
    case wellKnownCA = "well-known-ca"
}
