/// Why a backend certificate was accepted or rejected: the one vocabulary shared by `cert verify`,
/// `allowlist check`, `backend-health`, logs and metrics. The raw values are part of the product contract.
public enum ReasonCategory: String, CaseIterable, Sendable, Codable {
    case ok
    case notAllowlisted = "not-allowlisted"
    case untrustedRoot = "untrusted-root"
    case incompleteChain = "incomplete-chain"
    case hostnameMismatch = "hostname-mismatch"
    case expired
    case notYetValid = "not-yet-valid"
    case badSignature = "bad-signature"
    case notACA = "not-a-ca"
    case pathLengthExceeded = "path-length-exceeded"
    case nameConstraintViolation = "name-constraint-violation"
    case badKeyUsage = "bad-key-usage"
    case weakKey = "weak-key"
    case leafNotFirst = "leaf-not-first"
    case notWellKnownCA = "not-well-known-ca"
    case malformed
    /// The input is over a work bound: too many presented certificates or bytes, too many candidate issuers or
    /// signature checks, too many name-constraint comparisons.
    case tooComplex = "too-complex"
    /// A certificate breaks a rule of the RFC 5280 certificate profile or, under the `strict` verification profile,
    /// of the CA/Browser Forum's server-certificate profile.
    case profileViolation = "profile-violation"
    case handshakeFailed = "handshake-failed"
    case unreachable
    case timeout
}
