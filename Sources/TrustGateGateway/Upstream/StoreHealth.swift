import Foundation
import NIOConcurrencyHelpers
import TrustGatePKI

/// Whether the allow-list in force is the store's current one, or the last one read before the store became
/// unreadable (deleted, replaced by something that is not a store, unreadable): fail-static, as Envoy keeps
/// its last configuration. Shown on `/healthz` and as `trustgate_allowlist_stale`.
final class StoreHealth: Sendable {
    enum Status: Equatable, Sendable {
        case current
        /// Since when, and why, the store could not be read; the last allow-list read is still enforced.
        case stale(since: Date, reason: String)
    }

    private let value = NIOLockedValueBox(Status.current)
    private let metrics: GatewayMetrics?
    /// A store across the network (PostgreSQL): its failures are "unreachable", not "stale".
    private let remote: Bool

    init(metrics: GatewayMetrics? = nil, remote: Bool = false, initial: Status = .current) {
        self.metrics = metrics
        self.remote = remote
        value.withLockedValue { $0 = initial }
        if case .stale = initial { metrics?.allowListStale(true) }
    }

    var status: Status { value.withLockedValue { $0 } }

    /// Records a failure; true when this changes the state or its reason (the caller logs it once then).
    func stale(_ reason: String, now: Date = Date()) -> Bool {
        value.withLockedValue { status in
            if case .stale(let since, let previous) = status {
                guard previous != reason else { return false }
                status = .stale(since: since, reason: reason)
                return true
            }
            status = .stale(since: now, reason: reason)
            metrics?.allowListStale(true)
            return true
        }
    }

    /// Records a good read; true when the store had been stale.
    func current() -> Bool {
        value.withLockedValue { status in
            guard status != .current else { return false }
            status = .current
            metrics?.allowListStale(false)
            return true
        }
    }

    /// The `/healthz` line: `allow-list: current, version 7` or `allow-list: stale since …: why`; for a
    /// PostgreSQL store `store: reachable, version 7` or `store: unreachable since T, enforcing version 7: why`.
    func line(version: Int64) -> String {
        switch (status, remote) {
        case (.current, false): return "allow-list: current, version \(version)"
        case (.current, true): return "store: reachable, version \(version)"
        case (.stale(let since, let reason), false):
            return "allow-list: stale since \(RFC3339.format(since)): \(reason); enforcing version \(version)"
        case (.stale(let since, let reason), true):
            return "store: unreachable since \(RFC3339.format(since)), enforcing version \(version): \(reason)"
        }
    }
}
