import Foundation
import NIOConcurrencyHelpers
import TrustGateAllowList
import TrustGatePKI

/// The allow-list a running gateway enforces, swapped whole when the store's version changes, and the verdict
/// cache that goes with it (emptied on every swap).
public final class AllowListState: Sendable {
    private struct Snapshot {
        var version: Int64
        var policy: AllowListPolicy
    }

    public let gateway: String
    public let cache = VerdictCache()
    public let evaluator = TrustEvaluator()
    private let snapshot: NIOLockedValueBox<Snapshot>
    /// The system's well-known CAs, read once on first use (not on every handshake).
    private let wellKnown = NIOLockedValueBox<Result<TrustAnchors, PKIError>?>(nil)

    public init(gateway: String, version: Int64, entries: [AllowListEntry]) {
        self.gateway = gateway
        snapshot = NIOLockedValueBox(Snapshot(version: version, policy: AllowListPolicy(gateway: gateway, entries: entries)))
    }

    public var version: Int64 { snapshot.withLockedValue { $0.version } }
    public var policy: AllowListPolicy { snapshot.withLockedValue { $0.policy } }

    /// Replaces the allow-list (built off any event loop by the caller).
    public func replace(version: Int64, entries: [AllowListEntry]) {
        let policy = AllowListPolicy(gateway: gateway, entries: entries)
        snapshot.withLockedValue { $0 = Snapshot(version: version, policy: policy) }
        cache.removeAll()
    }

    /// The verdict for a backend's presented chain under a backend setting's trust mode.
    public func verdict(for presented: [ParsedCertificate], hostName: String, mode: TrustMode) async -> TrustVerdict {
        await versionedVerdict(for: presented, hostName: hostName, mode: mode).verdict
    }

    /// The verdict and the version of the allow-list that gave it (read together: a reload in between cannot
    /// pair one with the other).
    func versionedVerdict(
        for presented: [ParsedCertificate], hostName: String, mode: TrustMode
    ) async -> (verdict: TrustVerdict, version: Int64) {
        let (version, policy) = snapshot.withLockedValue { ($0.version, $0.policy) }
        let anchors = mode == .wellKnownCA ? wellKnownAnchors() : .success(TrustAnchors([]))
        let verdict = await policy.evaluate(
            presented: presented, identity: ServerIdentity(hostName), mode: mode, evaluator: evaluator, cache: cache,
            wellKnown: try anchors.get()
        )
        return (verdict, version)
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
