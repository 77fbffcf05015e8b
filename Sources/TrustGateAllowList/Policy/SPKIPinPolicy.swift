import Crypto
import TrustGatePKI

/// The allow-list's SPKI pins as a check the evaluator adds to its own: a path is acceptable only if the key of
/// one of its certificates is pinned (current or staged next key). Added in trusted-root mode when the gateway has
/// pins, so a new certificate from the same CA is not enough; the path it sees has passed path building, so every
/// key on it is tied to the leaf by verified signatures.
enum SPKIPinPolicy {
    /// The check as the evaluator takes it, with an identity over the pins for the verdict cache.
    static func additional(gateway: String, pins: Set<String>) -> AdditionalPolicy? {
        guard !pins.isEmpty else { return nil }
        var hasher = SHA256()
        for pin in pins.sorted() { hasher.update(data: Array(pin.utf8)) }
        return AdditionalPolicy(identity: Array(hasher.finalize())) { path in
            if path.contains(where: { pins.contains($0.spkiSHA256.hexString) }) { return nil }
            return TrustProblem(
                .notAllowlisted,
                "no key on the path to \(path.last?.subject.description ?? "?") is an SPKI pin of gateway \(gateway)"
            )
        }
    }
}
