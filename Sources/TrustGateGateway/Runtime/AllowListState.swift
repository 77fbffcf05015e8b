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
        await policy.evaluate(
            presented: presented, identity: ServerIdentity(hostName), mode: mode, evaluator: evaluator, cache: cache
        )
    }
}
