import Foundation
import SwiftASN1
import X509

/// The one trust path: `cert verify`, `allowlist check`, `backend-health` and the gateway's upstream handshake all
/// ask this type whether a presented chain validates to a trusted root, for a name, at a time, under a profile.
///
/// Candidate paths come from a bounded ``PathBuilder`` (which verifies every signature, each pair once); each path
/// is then judged by TrustGate's own checks (`Validation/Checks/`), each failure with its reason category:
/// validity, basic constraints and path length, key usage and extended key usage, name constraints, the RFC 5280
/// certificate profile, the CA/Browser Forum server profile (`strict`), weak algorithms, the server identity,
/// and any policy a layer above adds (an allow-list's SPKI pins). No other library's messages are read, and a
/// rejection is a ``TrustVerdict`` value, never a thrown error.
public struct TrustEvaluator: Sendable {
    public init() {}

    /// The most extra intermediates (`cert verify --intermediates`) one evaluation searches.
    public static let maximumIntermediatePool = 1_000

    /// The checks every path goes through, in no particular order (the verdict sorts its problems).
    static let checks: [any PathCheck] = [
        ValidityCheck(), BasicConstraintsCheck(), KeyUsageCheck(), NameConstraintsCheck(), CertificateProfileCheck(),
        ServerProfileCheck(), AlgorithmCheck(), IdentityCheck(),
    ]

    /// Evaluates `request`. Never throws: malformed input is the `malformed` category.
    public func evaluate(_ request: TrustEvaluationRequest) async -> TrustVerdict {
        evaluateNow(request)
    }

    /// The same, synchronously (the evaluation does no I/O and never waits). A chain `strict` refuses only for
    /// what `compatible` allows says so in the verdict's hint.
    public func evaluateNow(_ request: TrustEvaluationRequest) -> TrustVerdict {
        var verdict = judge(request)
        guard request.profile == .strict, !verdict.isTrusted,
            verdict.problems.contains(where: { $0.category == .profileViolation || $0.category == .hostnameMismatch })
        else { return verdict }
        var lenient = request
        lenient.profile = .compatible
        if judge(lenient).isTrusted {
            verdict.hint = "the compatible verification profile accepts this chain (cert verify --profile compatible; "
                + "backend settings' verification-profile: compatible); reissuing the certificate is the better fix"
        }
        return verdict
    }

    private func judge(_ request: TrustEvaluationRequest) -> TrustVerdict {
        guard let leaf = request.presented.first else {
            return TrustVerdict(chain: [], problems: [TrustProblem(.malformed, "the peer presented no certificate")])
        }
        let presentedBytes = request.presented.reduce(0) { $0 + $1.der.count }
        if let problem = PresentedChain.boundsProblem(count: request.presented.count, bytes: presentedBytes) {
            return TrustVerdict(chain: [], problems: [problem])
        }
        if request.intermediates.count > Self.maximumIntermediatePool {
            let problem = TrustProblem(
                .tooComplex,
                "\(request.intermediates.count) extra intermediates given; at most \(Self.maximumIntermediatePool) are searched"
            )
            return TrustVerdict(chain: [], problems: [problem])
        }
        if let problem = leafNotFirst(request.presented) {
            return TrustVerdict(chain: request.presented, problems: [problem])
        }
        if let reason = leaf.unusableReason {
            // The crypto library cannot use the leaf: report why, plus what can still be checked from its fields.
            let category: ReasonCategory = leaf.publicKey.isWeak ? .weakKey : .malformed
            let context = PathContext(path: [leaf], request: request)
            let problems = [TrustProblem(category, "\(leaf.subject): \(reason)", certificate: leaf)]
                + ValidityCheck().problems(in: context) + IdentityCheck().problems(in: context)
            return TrustVerdict(chain: [leaf], problems: problems)
        }

        var builder = PathBuilder(roots: request.roots, pool: Array(request.presented.dropFirst()) + request.intermediates)
        builder.build(from: leaf)
        var best: TrustVerdict?
        var budget = NameConstraintBudget()
        for path in builder.paths {
            if let problem = budget.spend(on: path) {
                return TrustVerdict(chain: path, problems: [problem])
            }
            let verdict = check(path: path, request: request)
            if verdict.isTrusted { return verdict }
            if best == nil || Self.isBetter(verdict, than: best) { best = verdict }
        }
        if let best { return best }
        return deadEnd(builder, leaf: leaf, request: request)
    }

    /// The profile rules `chain` (leaf first, ordered as issued) breaks under `profile`, judged on the chain alone
    /// (no trust anchor needed): what `cert lint` reports. The last certificate counts as the root when it is
    /// self-issued.
    public static func profileViolations(
        of chain: [ParsedCertificate], profile: VerificationProfile = .strict, purpose: CertificatePurpose = .server
    ) -> [TrustProblem] {
        guard let last = chain.last else { return [] }
        let request = TrustEvaluationRequest(presented: chain, roots: TrustAnchors([]), purpose: purpose, profile: profile)
        var context = PathContext(path: chain, request: request)
        context.anchored = last.isSelfIssued
        let checks: [any PathCheck] = [BasicConstraintsCheck(), KeyUsageCheck(), CertificateProfileCheck(), ServerProfileCheck()]
        return checks.flatMap { $0.problems(in: context) }.filter { $0.rule != nil }
    }

    /// A verdict whose first problem comes later in the fix order got further: prefer it.
    private static func isBetter(_ candidate: TrustVerdict, than current: TrustVerdict?) -> Bool {
        guard let current else { return true }
        let a = TrustProblem.rank(candidate.category)
        let b = TrustProblem.rank(current.category)
        return a != b ? a > b : candidate.problems.count < current.problems.count
    }

    /// Checks one complete path (leaf … trusted root).
    private func check(path: [ParsedCertificate], request: TrustEvaluationRequest) -> TrustVerdict {
        let context = PathContext(path: path, request: request)
        var problems = Self.checks.flatMap { $0.problems(in: context) }
        if let additional = request.additionalPolicy, let problem = additional.check(path) {
            problems.append(problem)
        }
        return TrustVerdict(chain: path, problems: problems)
    }

    /// The leaf must come first: a CA first, followed by the end-entity certificate it (transitively) issued, is a
    /// misconfigured server.
    private func leafNotFirst(_ presented: [ParsedCertificate]) -> TrustProblem? {
        guard presented.count > 1, presented[0].isCA,
            let leaf = presented.dropFirst().first(where: { !$0.isCA && !$0.isSelfIssued })
        else { return nil }
        let chain = ChainAnalysis.orderedChain(presented)
        guard chain.first == leaf else { return nil }
        return TrustProblem(
            .leafNotFirst, "the peer sent CA \(presented[0].subject) first; its leaf \(leaf.subject) must come first",
            certificate: presented[0]
        )
    }

    /// No path reached a trusted root: say where and why it stopped.
    private func deadEnd(_ builder: PathBuilder, leaf: ParsedCertificate, request: TrustEvaluationRequest) -> TrustVerdict {
        let (path, dead) = builder.furthest ?? ([leaf], .missingIssuer(leaf))
        let partial = PathContext(path: path, request: request)
        var problems = ValidityCheck().problems(in: partial) + IdentityCheck().problems(in: PathContext(path: [leaf], request: request))
        let untrusted: ReasonCategory = request.roots.isWellKnownStore ? .notWellKnownCA : .untrustedRoot
        switch dead {
        case .missingIssuer(let certificate):
            problems.append(
                TrustProblem(
                    .incompleteChain,
                    "the issuer \(certificate.issuer) of \(certificate.subject) was not presented and is not trusted",
                    certificate: certificate
                )
            )
        case .badSignature(let certificate, let issuer):
            problems.append(
                TrustProblem(
                    .badSignature, "the signature of \(certificate.subject) does not verify with the key of \(issuer.subject)",
                    certificate: certificate
                )
            )
        case .untrustedRoot(let root):
            let detail = request.roots.isWellKnownStore
                ? "the chain ends in \(root.subject), which is not a well-known CA in the system trust store"
                : "the chain ends in \(root.subject), which is not a trusted root"
            problems.append(TrustProblem(untrusted, detail, certificate: root))
        case .unusable(let certificate):
            let category: ReasonCategory = certificate.publicKey.isWeak ? .weakKey : .malformed
            problems.append(
                TrustProblem(category, "\(certificate.subject): \(certificate.unusableReason ?? "unusable")", certificate: certificate)
            )
        case .exhausted:
            problems.append(
                TrustProblem(
                    .tooComplex,
                    "path building gave up after \(PathBuilder.maximumSignatureChecks) signature checks or "
                        + "\(PathBuilder.maximumDepth) certificates: too many candidate issuers"
                )
            )
        }
        return TrustVerdict(chain: path, problems: problems)
    }
}
