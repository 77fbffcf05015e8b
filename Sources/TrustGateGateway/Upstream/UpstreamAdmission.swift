import Foundation
import TrustGatePKI

/// What an allowing verdict admits: connections and resumed sessions under the allow-list generation it was
/// given under, until the first instant any certificate the verdict relied on stops being valid.
struct UpstreamAdmission: Sendable, Equatable {
    var generation: Int64
    var validUntil: Date

    /// Whether a connection or session made under this admission may still be used.
    func admits(generation current: Int64, at time: Date) -> Bool {
        generation == current && time < validUntil
    }

    /// The admission of `verdict` (trusted) under `generation`: valid through the notAfter of every certificate on
    /// its chain (inclusive, as RFC 5280 reads it).
    init(generation: Int64, verdict: TrustVerdict) {
        self.generation = generation
        validUntil = verdict.chain.map { $0.notAfter.addingTimeInterval(1) }.min() ?? .distantFuture
    }

    init(generation: Int64, validUntil: Date) {
        self.generation = generation
        self.validUntil = validUntil
    }
}
