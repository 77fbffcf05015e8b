import Crypto
import Foundation
import Synchronization

/// Remembers verdicts keyed by the digest of everything a verdict depends on: the presented chain, the extra
/// intermediates, the anchors' identity, the expected name, the purpose and the path-length limit. A verdict is
/// reused only while the evaluation time stays between the same two validity boundaries (notBefore/notAfter) of
/// every certificate involved, so nothing expires or becomes valid under a cached answer.
public final class VerdictCache: Sendable {
    private struct Entry {
        var verdict: TrustVerdict
        var validFrom: Date
        var validUntil: Date
    }

    private let entries = Mutex<[[UInt8]: Entry]>([:])
    /// At most this many verdicts are kept; the cache is emptied when it is full.
    public let capacity: Int

    public init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// The cached verdict for `request`, or a fresh one from `evaluator` (then cached).
    public func verdict(for request: TrustEvaluationRequest, evaluator: TrustEvaluator) async -> TrustVerdict {
        let key = Self.key(request)
        let time = request.time
        if let hit = entries.withLock({ $0[key] }), hit.validFrom <= time, time < hit.validUntil {
            return hit.verdict
        }
        let verdict = await evaluator.evaluate(request)
        let (from, until) = Self.window(request)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(verdict: verdict, validFrom: from, validUntil: until)
        }
        return verdict
    }

    /// The number of cached verdicts.
    public var count: Int { entries.withLock { $0.count } }

    /// Drops every cached verdict (e.g. when an allow-list changes).
    public func removeAll() {
        entries.withLock { $0.removeAll() }
    }

    static func key(_ request: TrustEvaluationRequest) -> [UInt8] {
        var hasher = SHA256()
        for certificate in request.presented { hasher.update(data: certificate.sha256) }
        hasher.update(data: [0xFF])
        for certificate in request.intermediates { hasher.update(data: certificate.sha256) }
        hasher.update(data: request.roots.identity)
        hasher.update(data: Array((request.identity.map { "\($0)" } ?? "").utf8) + [0])
        hasher.update(data: Array(request.purpose.rawValue.utf8) + [0])
        withUnsafeBytes(of: Int64(request.maximumIntermediates)) { hasher.update(bufferPointer: $0) }
        hasher.update(data: request.additionalPolicy?.identity ?? [])
        hasher.update(data: Array(request.profile.rawValue.utf8))
        return Array(hasher.finalize())
    }

    /// The interval around the request's time in which no involved certificate starts or ends its validity.
    static func window(_ request: TrustEvaluationRequest) -> (Date, Date) {
        var from = Date.distantPast
        var until = Date.distantFuture
        let time = request.time
        func consider(_ boundary: Date) {
            if boundary <= time { from = max(from, boundary) } else { until = min(until, boundary) }
        }
        for certificate in request.presented + request.intermediates {
            consider(certificate.notBefore)
            consider(certificate.notAfter.addingTimeInterval(1))  // valid through notAfter inclusive
        }
        let boundaries = request.roots.validityBoundaries
        // The nearest anchor boundaries on either side of `time`, by binary search.
        var low = 0
        var high = boundaries.count
        while low < high {
            let middle = (low + high) / 2
            if boundaries[middle] <= time { low = middle + 1 } else { high = middle }
        }
        if low > 0 { consider(boundaries[low - 1]) }
        if low < boundaries.count { consider(boundaries[low]) }
        return (from, until)
    }
}
