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
        let active = entries.filter { $0.isActive(at: time) }
        self.entries = active
        expired = entries.filter { !$0.isActive(at: time) }
        roots = TrustAnchors(active.filter { $0.kind == .trustedRoot }.compactMap(\.certificate))
        expiries = entries.compactMap(\.expiresAt).filter { $0 >= time }.sorted()
        // Indexes, built once per allow-list version: a handshake looks up, it never scans the entries.
        pinnedLeaves = Set(active.filter { $0.kind == .pinned }.compactMap(\.certificateSHA256))
        let pins = active.filter { $0.kind == .spkiPin }
        pinnedKeys = Set(pins.flatMap { [$0.spkiSHA256] + ($0.nextSPKISHA256.map { [$0] } ?? []) })
        var anchors: [ParsedCertificate] = []
        var seen = Set<[UInt8]>()
        for certificate in pins.compactMap(\.certificate)
        where certificate.isCA && pinnedKeys.contains(certificate.spkiSHA256.hexString) && seen.insert(certificate.sha256).inserted {
            anchors.append(certificate)
        }
        pinnedCAs = anchors
        spkiPolicy = SPKIPinPolicy.additional(gateway: gateway, pins: pinnedKeys)
        var byKey: [String: String] = [:]
        var bySubject: [String: String] = [:]
        for entry in active {
            if byKey[entry.spkiSHA256] == nil { byKey[entry.spkiSHA256] = entry.name }
            if let next = entry.nextSPKISHA256, byKey[next] == nil { byKey[next] = entry.name }
            if let subject = entry.subject, bySubject[subject] == nil { bySubject[subject] = entry.name }
        }
        nameByKey = byKey
        nameBySubject = bySubject
    }

    /// The certificate SHA-256 (hex) of every pinned entry.
    private let pinnedLeaves: Set<String>
    /// Every SPKI pin (hex), current and next.
    private let pinnedKeys: Set<String>
    /// The CA certificates stored with SPKI-pin entries whose key is pinned: anchors of a CA pin's path.
    private let pinnedCAs: [ParsedCertificate]
    /// The SPKI pins as the evaluator's additional check in trusted-root mode.
    private let spkiPolicy: AdditionalPolicy?
    /// The first entry (by name) with a key, or a subject: for naming the nearest entry of a rejection.
    private let nameByKey: [String: String]
    private let nameBySubject: [String: String]

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
        if pinnedLeaves.contains(leaf.sha256.hexString) || pinnedKeys.contains(leaf.spkiSHA256.hexString) {
            return TrustVerdict(chain: [leaf], problems: [])
        }
        // CA pins: the certificates holding a pinned key, other than the leaf, become the only anchors of a full
        // path validation from the leaf.
        var anchors: [ParsedCertificate] = []
        for certificate in presented.dropFirst() + pinnedCAs
        where certificate != leaf && !anchors.contains(certificate) && pinnedKeys.contains(certificate.spkiSHA256.hexString) {
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
            additionalPolicy: spkiPolicy, profile: profile
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
        if let sameKey = nameByKey[certificate.spkiSHA256.hexString] {
            return "\(sameKey) (same key, another certificate)"
        }
        if let sameSubject = nameBySubject[certificate.subject.description] {
            return "\(sameSubject) (same subject, another key: a renewal not registered yet?)"
        }
        if let issuer = nameBySubject[certificate.issuer.description] {
            return "\(issuer) (the issuer of this certificate)"
        }
        return nil
    }
}
