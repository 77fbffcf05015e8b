import Foundation
import TrustGateAllowList
import TrustGatePKI

/// A dry run of an allow-list change against the live backends (`trustgate allowlist plan`): each probed backend's
/// presented chain judged twice with the one evaluator, under the allow-list in force and under the candidate,
/// with the same expected name, trust mode and profile the gateway would use.
public struct AllowListPlan: Sendable {
    public enum Effect: String, Codable, Sendable {
        case breaks
        case fixes
        case unchanged
        /// Nothing presented (unreachable, plain HTTP): not judged.
        case notJudged = "not-judged"
    }

    /// One backend before and after the change.
    public struct Row: Codable, Sendable {
        public var pool: String
        public var member: String
        public var settings: String?
        public var expectedName: String?
        /// The reason category now, and after the change (nil when not judged).
        public var now: String
        public var after: String?
        public var effect: Effect
        public var detail: String
    }

    public var rows: [Row]

    /// Backends the change would turn away.
    public var breaks: Int { rows.filter { $0.effect == .breaks }.count }

    /// Routed backends that presented nothing and so could not be judged (they may break later).
    public var unjudged: Int { rows.filter { $0.effect == .notJudged && $0.settings != nil }.count }

    /// Judges `probed` under `state` (the allow-list in force) and under `candidate` (`profile`: instead of each
    /// backend setting's own).
    public static func judge(
        _ probed: [ProbedBackend], state: AllowListState, candidate: AllowListPolicy, profile: VerificationProfile? = nil
    ) async -> AllowListPlan {
        var rows: [Row] = []
        for backend in probed {
            let health = backend.health
            var row = Row(pool: health.pool, member: health.member, settings: health.settings,
                          expectedName: health.expectedName, now: health.category.rawValue, after: nil,
                          effect: .notJudged, detail: health.detail)
            if let settings = backend.settings, settings.scheme == .https, !backend.chain.isEmpty {
                let hostName = health.expectedName ?? ""
                let profile = profile ?? settings.verificationProfile
                let before = await state.verdict(for: backend.chain, hostName: hostName, mode: settings.trust, profile: profile)
                let after = await candidate.evaluate(
                    presented: backend.chain, identity: ServerIdentity(hostName), mode: settings.trust, profile: profile
                )
                row.now = before.category.rawValue
                row.after = after.category.rawValue
                row.effect = before.isTrusted == after.isTrusted ? .unchanged : (before.isTrusted ? .breaks : .fixes)
                row.detail = after.detail
            }
            rows.append(row)
        }
        return AllowListPlan(rows: rows)
    }

    /// Probes every backend `configuration` routes to (as `gateway backend-health` does), then judges them.
    public static func make(
        _ configuration: GatewayConfiguration, state: AllowListState, candidate: [AllowListEntry],
        timeout: TimeInterval, profile: VerificationProfile? = nil
    ) async throws -> AllowListPlan {
        let probed = try await BackendProbe.probeAll(configuration, state: state, timeout: timeout)
        return await judge(probed, state: state, candidate: AllowListPolicy(gateway: configuration.gateway, entries: candidate),
                           profile: profile)
    }
}
