import Foundation

/// One candidate path as every check sees it: the certificates from the leaf to the trust anchor (signatures
/// already verified by ``PathBuilder``), and what the request asks.
struct PathContext {
    let path: [ParsedCertificate]
    let request: TrustEvaluationRequest
    /// Whether the path ends in its trust anchor (false for a chain judged on its own, as `cert lint` does, whose
    /// last certificate is not self-issued).
    var anchored = true

    var leaf: ParsedCertificate { path[0] }
    var anchor: ParsedCertificate { path[path.count - 1] }
    var isStrict: Bool { request.profile == .strict }
    /// The certificates that issued another one on the path: everything but the leaf (the anchor included), or
    /// nothing when the leaf is itself the trust anchor.
    var issuers: ArraySlice<ParsedCertificate> { path.count > 1 ? path[1...] : [] }

    /// Whether `index` is the trust anchor of a path longer than the leaf.
    /// Whether the leaf is itself the trust anchor (a path of one certificate).
    var leafIsAnchor: Bool { anchored && path.count == 1 }

    func isAnchor(_ index: Int) -> Bool { anchored && path.count > 1 && index == path.count - 1 }
}

/// One of TrustGate's own checks of a built path (RFC 5280 §6 and the server profile): the problems it finds,
/// each with its reason category. Checks never throw and never read another library's messages.
protocol PathCheck: Sendable {
    func problems(in context: PathContext) -> [TrustProblem]
}
