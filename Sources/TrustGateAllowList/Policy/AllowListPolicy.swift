import Foundation
import TrustGatePKI

/// A gateway's allow-list applied to a presented chain, through the one ``TrustEvaluator``.
///
/// - `pinned`: the leaf's SHA-256 equals a pinned entry, or any presented certificate's key equals an SPKI pin
///   (current or staged next key). No chain validation, as with Azure v1 authentication certificates.
/// - `trusted-root`: the chain validates to a trusted-root entry for the expected name (the evaluator's full
///   verdict), and when the gateway has SPKI pins, a key on the validated path must also match one of them.
/// - `well-known-ca`: the chain validates to the system's well-known CAs; the allow-list is not consulted.
/// - no mode (`allowlist check` without `--mode`): accepted when either of the first two accepts.
public struct AllowListPolicy: Sendable {
    public let gateway: String
    public let entries: [AllowListEntry]
    private let roots: TrustAnchors

    public init(gateway: String, entries: [AllowListEntry], at time: Date = Date()) {
        self.gateway = gateway
        self.entries = entries.filter { $0.isActive(at: time) }
        roots = TrustAnchors(self.entries.filter { $0.kind == .trustedRoot }.compactMap(\.certificate))
    }

    /// The verdict for `presented`, for `identity`, under `mode`.
    public func evaluate(
        presented: [ParsedCertificate], identity: ServerIdentity?, mode: TrustMode? = nil, time: Date = Date(),
        evaluator: TrustEvaluator = TrustEvaluator(), cache: VerdictCache? = nil,
        wellKnown: @autoclosure () throws -> TrustAnchors = try TrustAnchors.system()
    ) async -> TrustVerdict {
        switch mode {
        case .pinned:
            return pinnedVerdict(presented)
        case .trustedRoot:
            return await rootVerdict(presented, identity: identity, time: time, evaluator: evaluator, cache: cache)
        case .wellKnownCA:
            let anchors: TrustAnchors
            do {
                anchors = try wellKnown()
            } catch {
                return TrustVerdict(chain: presented, problems: [TrustProblem(.notWellKnownCA, "\(error)")])
            }
            let request = TrustEvaluationRequest(presented: presented, roots: anchors, identity: identity, time: time)
            return await Self.evaluate(request, evaluator: evaluator, cache: cache)
        case nil:
            let pinned = pinnedVerdict(presented)
            if pinned.isTrusted { return pinned }
            let rooted = await rootVerdict(presented, identity: identity, time: time, evaluator: evaluator, cache: cache)
            if rooted.isTrusted || roots.certificates.isEmpty == false { return rooted }
            return pinned
        }
    }

    /// Pinned-certificate and SPKI-pin matching.
    func pinnedVerdict(_ presented: [ParsedCertificate]) -> TrustVerdict {
        guard let leaf = presented.first else {
            return TrustVerdict(chain: [], problems: [TrustProblem(.malformed, "the backend presented no certificate")])
        }
        let leafHex = leaf.sha256.hexString
        if entries.contains(where: { $0.kind == .pinned && $0.certificateSHA256 == leafHex }) {
            return TrustVerdict(chain: [leaf], problems: [])
        }
        for certificate in presented where entries.contains(where: { $0.kind == .spkiPin && $0.matchesKey(of: certificate) }) {
            return TrustVerdict(chain: Array(presented.prefix(through: presented.firstIndex(of: certificate) ?? 0)), problems: [])
        }
        return TrustVerdict(chain: presented, problems: [notAllowlisted(leaf)])
    }

    private func rootVerdict(
        _ presented: [ParsedCertificate], identity: ServerIdentity?, time: Date, evaluator: TrustEvaluator,
        cache: VerdictCache?
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
            additionalPolicy: SPKIPinPolicy.additional(gateway: gateway, entries: entries)
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
        if let nearest = nearestEntry(to: leaf) { detail += "; nearest entry: \(nearest)" }
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
