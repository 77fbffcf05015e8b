import Foundation
import TrustGatePKI

/// A gateway's allow-list applied to a presented chain, through the one ``TrustEvaluator``.
///
/// - `pinned`: pins mean what HPKP and Envoy mean. A pinned certificate matches only the leaf (the certificate
///   whose key signed the handshake), byte for byte; an SPKI pin of the leaf's key (current or staged next key)
///   matches only the leaf. An SPKI pin of a CA's key matches only when the path from the leaf up to that CA's
///   certificate (presented, or stored with the entry) is verified: every signature, CA constraints, validity,
///   key usage and, when an expected name is given, the host name. No other chain validation, as with Azure v1
///   authentication certificates.
/// - `trusted-root`: the chain validates to a trusted-root entry for the expected name (the evaluator's full
///   verdict), and when the gateway has SPKI pins, a key on the validated path must also match one of them.
/// - `well-known-ca`: the chain validates to the system's well-known CAs; the allow-list is not consulted.
/// - no mode (`allowlist check` without `--mode`): accepted when either of the first two accepts.
///
/// Entries whose own expiry (`--expires`) has passed at the time of the evaluation do not count: the policy is
/// built once per allow-list version and filters by the evaluation's time, and ``nextExpiry(after:)`` says
/// when that filter next changes its answer.
public struct AllowListPolicy: Sendable {
    public let gateway: String
    public let entries: [AllowListEntry]
    private let roots: TrustAnchors

    public init(gateway: String, entries: [AllowListEntry], at time: Date = Date()) {
        self.gateway = gateway
        self.entries = entries.filter { $0.isActive(at: time) }
        expired = entries.filter { !$0.isActive(at: time) }
        roots = TrustAnchors(self.entries.filter { $0.kind == .trustedRoot }.compactMap(\.certificate))
        expiries = entries.compactMap(\.expiresAt).filter { $0 >= time }.sorted()
    }

    /// The expiries of the entries still counting, soonest first.
    private let expiries: [Date]
    /// The entries whose own expiry has passed: named in a rejection they would have allowed.
    private let expired: [AllowListEntry]

    /// The first instant after `time` at which an entry stops counting: a policy built at `time` must be rebuilt
    /// then (nil: never).
    public func nextExpiry(after time: Date) -> Date? {
        expiries.first { $0 >= time }.map { $0.addingTimeInterval(0.001) }
    }

    /// The verdict for `presented`, for `identity`, under `mode`, judged under `profile`.
    public func evaluate(
        presented: [ParsedCertificate], identity: ServerIdentity?, mode: TrustMode? = nil, time: Date = Date(),
        profile: VerificationProfile = .strict, evaluator: TrustEvaluator = TrustEvaluator(), cache: VerdictCache? = nil,
        wellKnown: @autoclosure () throws -> TrustAnchors = try TrustAnchors.system()
    ) async -> TrustVerdict {
        switch mode {
        case .pinned:
            return await pinnedVerdict(presented, identity: identity, time: time, profile: profile, evaluator: evaluator, cache: cache)
        case .trustedRoot:
            return await rootVerdict(presented, identity: identity, time: time, profile: profile, evaluator: evaluator, cache: cache)
        case .wellKnownCA:
            let anchors: TrustAnchors
            do {
                anchors = try wellKnown()
            } catch {
                return TrustVerdict(chain: presented, problems: [TrustProblem(.notWellKnownCA, "\(error)")])
            }
            let request = TrustEvaluationRequest(
                presented: presented, roots: anchors, identity: identity, time: time, profile: profile
            )
            return await Self.evaluate(request, evaluator: evaluator, cache: cache)
        case nil:
            let pinned = await pinnedVerdict(presented, identity: identity, time: time, profile: profile, evaluator: evaluator, cache: cache)
            if pinned.isTrusted { return pinned }
            let rooted = await rootVerdict(presented, identity: identity, time: time, profile: profile, evaluator: evaluator, cache: cache)
            if rooted.isTrusted || roots.certificates.isEmpty == false { return rooted }
            return pinned
        }
    }

    /// Pinned-certificate and SPKI-pin matching, as the type's documentation says.
    func pinnedVerdict(
        _ presented: [ParsedCertificate], identity: ServerIdentity?, time: Date, profile: VerificationProfile,
        evaluator: TrustEvaluator, cache: VerdictCache?
    ) async -> TrustVerdict {
        guard let leaf = presented.first else {
            return TrustVerdict(chain: [], problems: [TrustProblem(.malformed, "the backend presented no certificate")])
        }
        let leafHex = leaf.sha256.hexString
        if entries.contains(where: { $0.kind == .pinned && $0.certificateSHA256 == leafHex }) {
            return TrustVerdict(chain: [leaf], problems: [])
        }
        let pins = entries.filter { $0.kind == .spkiPin }
        if pins.contains(where: { $0.matchesKey(of: leaf) }) {
            return TrustVerdict(chain: [leaf], problems: [])
        }
        // CA pins: the certificates holding a pinned key, other than the leaf, become the only anchors of a full
        // path validation from the leaf.
        var anchors: [ParsedCertificate] = []
        for certificate in presented.dropFirst() + pins.compactMap(\.certificate)
        where certificate != leaf && !anchors.contains(certificate) && pins.contains(where: { $0.matchesKey(of: certificate) }) {
            anchors.append(certificate)
        }
        guard !anchors.isEmpty else {
            return TrustVerdict(chain: presented, problems: [notAllowlisted(leaf)])
        }
        let request = TrustEvaluationRequest(
            presented: presented, roots: TrustAnchors(anchors), identity: identity, time: time, profile: profile
        )
        let verdict = await Self.evaluate(request, evaluator: evaluator, cache: cache)
        guard !verdict.isTrusted else { return verdict }
        switch verdict.category {
        case .untrustedRoot, .incompleteChain, .badSignature, .notWellKnownCA:
            // No verified path reaches a pinned key: the backend is simply not on the allow-list.
            var problem = notAllowlisted(leaf)
            problem.detail += "; a CA key of the chain is pinned, but no verified path leads from the leaf to it ("
                + verdict.detail + ")"
            return TrustVerdict(chain: presented, problems: [problem])
        default:
            return verdict
        }
    }

    private func rootVerdict(
        _ presented: [ParsedCertificate], identity: ServerIdentity?, time: Date, profile: VerificationProfile,
        evaluator: TrustEvaluator, cache: VerdictCache?
    ) async -> TrustVerdict {
        guard let leaf = presented.first else {
            return TrustVerdict(chain: [], problems: [TrustProblem(.malformed, "the backend presented no certificate")])
        }
        guard !roots.certificates.isEmpty else {
            return TrustVerdict(
                chain: presented,
                problems: [TrustProblem(.notAllowlisted, "gateway \(gateway) has no trusted-root entries", certificate: leaf)]
            )
        }
        let request = TrustEvaluationRequest(
            presented: presented, roots: roots, identity: identity, time: time,
            additionalPolicy: SPKIPinPolicy.additional(gateway: gateway, entries: entries), profile: profile
        )
        return await Self.evaluate(request, evaluator: evaluator, cache: cache)
    }

    private static func evaluate(_ request: TrustEvaluationRequest, evaluator: TrustEvaluator, cache: VerdictCache?)
        async -> TrustVerdict
    {
        if let cache { return await cache.verdict(for: request, evaluator: evaluator) }
        return await evaluator.evaluate(request)
    }

    private func notAllowlisted(_ leaf: ParsedCertificate) -> TrustProblem {
        var detail = "\(leaf.subject) (sha256 \(leaf.sha256.hexString.prefix(16))…) matches no entry of gateway \(gateway)"
        let leafHex = leaf.sha256.hexString
        if let lapsed = expired.first(where: { $0.certificateSHA256 == leafHex || $0.matchesKey(of: leaf) }),
            let at = lapsed.expiresAt
        {
            detail += "; entry \(lapsed.name) matched it but expired at \(RFC3339.format(at))"
        } else if let nearest = nearestEntry(to: leaf) {
            detail += "; nearest entry: \(nearest)"
        }
        return TrustProblem(.notAllowlisted, detail, certificate: leaf)
    }

    /// The entry most like `certificate`, described for a rejection: same key, same subject, or same issuer.
    public func nearestEntry(to certificate: ParsedCertificate) -> String? {
        let subject = certificate.subject.description
        if let sameKey = entries.first(where: { $0.matchesKey(of: certificate) }) {
            return "\(sameKey.name) (same key, another certificate)"
        }
        if let sameSubject = entries.first(where: { $0.subject == subject }) {
            return "\(sameSubject.name) (same subject, another key: a renewal not registered yet?)"
        }
        if let issuer = entries.first(where: { $0.subject == certificate.issuer.description }) {
            return "\(issuer.name) (the issuer of this certificate)"
        }
        return nil
    }
}
