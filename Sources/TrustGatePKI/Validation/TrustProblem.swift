/// One reason a chain is not acceptable: its category, the certificate it is about, and what was expected.
public struct TrustProblem: Hashable, Sendable, Codable, CustomStringConvertible {
    public var category: ReasonCategory
    /// What is wrong and what was expected, in words a user can act on.
    public var detail: String
    /// The subject of the certificate the problem is about, when it is about one.
    public var subject: String?
    /// Its SHA-256 fingerprint (hex).
    public var sha256: String?
    /// For `profile-violation`: the rule broken (``ProfileRule``'s name, e.g. `cn-not-in-san`).
    public var rule: String?

    public init(_ category: ReasonCategory, _ detail: String, certificate: ParsedCertificate? = nil, rule: ProfileRule? = nil) {
        self.category = category
        self.detail = detail
        subject = certificate?.subject.description
        sha256 = certificate?.sha256.hexString
        self.rule = rule?.rawValue
    }

    /// A rule of the certificate profiles, with its reference in the detail.
    static func violation(_ rule: ProfileRule, _ detail: String, certificate: ParsedCertificate) -> TrustProblem {
        TrustProblem(.profileViolation, "\(detail) (\(rule.reference))", certificate: certificate, rule: rule)
    }

    public var description: String { "\(category.rawValue): \(detail)" }

    /// The order in which a user must fix things: the first problem in this order is the verdict's category.
    static let fixOrder: [ReasonCategory] = [
        .malformed, .tooComplex, .leafNotFirst, .incompleteChain, .untrustedRoot, .notWellKnownCA, .badSignature, .notACA,
        .pathLengthExceeded, .nameConstraintViolation, .expired, .notYetValid, .hostnameMismatch, .badKeyUsage,
        .profileViolation, .weakKey, .notAllowlisted,
    ]

    static func rank(_ category: ReasonCategory) -> Int {
        fixOrder.firstIndex(of: category) ?? fixOrder.count
    }
}
