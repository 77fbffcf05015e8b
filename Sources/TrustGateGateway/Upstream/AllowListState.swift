import Foundation
import NIOConcurrencyHelpers
import TrustGateAllowList
import TrustGatePKI

/// The allow-list a running gateway enforces, swapped whole when the store's version changes, and the verdict
/// cache that goes with it (emptied on every swap).
///
/// Every swap starts a new *generation*, and so does the moment an entry's own expiry (`--expires`) passes:
/// the policy is rebuilt then, on the first look after that instant, so an expired entry stops allowing
/// backends at the next handshake, with no store change. Pooled connections and resumable sessions carry the
/// generation they were judged under and are not used under another.
public final class AllowListState: Sendable {
    private struct Snapshot {
        var version: Int64
        var generation: Int64
        var entries: [AllowListEntry]
        var policy: AllowListPolicy
        /// When the policy must be rebuilt because an entry expires then.
        var rebuildAt: Date?
    }

    public let gateway: String
    public let cache = VerdictCache()
    public let evaluator = TrustEvaluator()
    private let snapshot: NIOLockedValueBox<Snapshot>
    /// The system's well-known CAs, read once on first use (not on every handshake).
    private let wellKnown = NIOLockedValueBox<Result<TrustAnchors, PKIError>?>(nil)

    /// The allow-list `store` holds for `gateway`: the one way the gateway, `backend-health` and `allowlist plan`
    /// load it. The version is read before the entries, so a change made in between is seen as a newer version by
    /// the watcher and loaded again, never missed.
    public static func load(gateway: String, from store: any AllowListStore) throws(AllowListError) -> AllowListState {
        let version = try store.version(gateway: gateway)
        return AllowListState(gateway: gateway, version: version, entries: try store.entries(gateway: gateway))
    }

    public init(gateway: String, version: Int64, entries: [AllowListEntry], now: Date = Date()) {
        self.gateway = gateway
        let policy = AllowListPolicy(gateway: gateway, entries: entries, at: now)
        snapshot = NIOLockedValueBox(
            Snapshot(version: version, generation: 1, entries: entries, policy: policy,
                     rebuildAt: policy.nextExpiry(after: now))
        )
    }

    /// The store's version of the allow-list in force.
    public var version: Int64 { current().version }
    /// The generation in force (changes on every reload and every entry expiry).
    var generation: Int64 { current().generation }
    /// The entries in force.
    var entries: [AllowListEntry] { snapshot.withLockedValue { $0.entries } }
    /// The policy in force now.
    public var policy: AllowListPolicy { current().policy }

    /// Replaces the allow-list (built off any event loop by the caller).
    public func replace(version: Int64, entries: [AllowListEntry], now: Date = Date()) {
        let policy = AllowListPolicy(gateway: gateway, entries: entries, at: now)
        snapshot.withLockedValue { snapshot in
            snapshot = Snapshot(version: version, generation: snapshot.generation + 1, entries: entries, policy: policy,
                                rebuildAt: policy.nextExpiry(after: now))
        }
        cache.removeAll()
    }

    /// The snapshot in force at `now`: rebuilt first when an entry has expired since it was made.
    private func current(now: Date = Date()) -> Snapshot {
        let (snapshot, rebuilt) = self.snapshot.withLockedValue { snapshot -> (Snapshot, Bool) in
            guard let rebuildAt = snapshot.rebuildAt, now >= rebuildAt else { return (snapshot, false) }
            let policy = AllowListPolicy(gateway: gateway, entries: snapshot.entries, at: now)
            snapshot.policy = policy
            snapshot.generation += 1
            snapshot.rebuildAt = policy.nextExpiry(after: now)
            return (snapshot, true)
        }
        if rebuilt { cache.removeAll() }
        return snapshot
    }

    /// The verdict for a backend's presented chain under a backend setting's trust mode and profile.
    public func verdict(
        for presented: [ParsedCertificate], hostName: String, mode: TrustMode, profile: VerificationProfile = .strict
    ) async -> TrustVerdict {
        await versionedVerdict(for: presented, hostName: hostName, mode: mode, profile: profile).verdict
    }

    /// The verdict and the generation of the allow-list that gave it (read together: a reload in between cannot
    /// pair one with the other).
    func versionedVerdict(
        for presented: [ParsedCertificate], hostName: String, mode: TrustMode, profile: VerificationProfile
    ) async -> (verdict: TrustVerdict, generation: Int64) {
        let now = Date()
        let snapshot = current(now: now)
        let anchors = mode == .wellKnownCA ? wellKnownAnchors() : .success(TrustAnchors([]))
        let verdict = await snapshot.policy.evaluate(
            presented: presented, identity: ServerIdentity(hostName), mode: mode, time: now, profile: profile, evaluator: evaluator,
            cache: cache, wellKnown: try anchors.get()
        )
        return (verdict, snapshot.generation)
    }

    private func wellKnownAnchors() -> Result<TrustAnchors, PKIError> {
        wellKnown.withLockedValue { loaded in
            if let loaded { return loaded }
            let result = Result { () throws(PKIError) in try TrustAnchors.system() }
            loaded = result
            return result
        }
    }
}
