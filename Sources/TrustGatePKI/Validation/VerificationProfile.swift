/// How strictly a path is judged: the one evaluator runs under either profile.
///
/// - `strict` (the default everywhere): RFC 5280 §4 and §6, plus the CA/Browser Forum rules for TLS server
///   certificates that pyca/cryptography and rustls-webpki enforce (a leaf with SANs and an EKU, a CN among the
///   SANs, key identifiers, serial numbers of 1 to 20 octets, v3 only, no wildcard under a public suffix, …).
///   A certificate that breaks one is `profile-violation`.
/// - `compatible`: RFC 5280 path validation only, and the CN of a certificate without SANs matches a host name, as
///   Azure Application Gateway v2 matches backend certificates.
public enum VerificationProfile: String, CaseIterable, Sendable, Codable {
    case strict
    case compatible
}
