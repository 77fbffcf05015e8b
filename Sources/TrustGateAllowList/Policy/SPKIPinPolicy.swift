import Crypto
import SwiftASN1
import TrustGatePKI
import X509

/// The allow-list's SPKI pins as a swift-certificates `VerifierPolicy`: a path is acceptable only if the key of
/// one of its certificates is pinned (current or staged next key). Added to the evaluator's policies in
/// trusted-root mode when the gateway has pins, so a new certificate from the same CA is not enough.
struct SPKIPinPolicy: VerifierPolicy {
    let gateway: String
    let pins: Set<String>

    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        for certificate in chain {
            var serializer = DER.Serializer()
            guard (try? serializer.serialize(certificate.publicKey)) != nil else { continue }
            if pins.contains(Array(SHA256.hash(data: serializer.serializedBytes)).hexString) { return .meetsPolicy }
        }
        return .failsToMeetPolicy(
            reason: "\(ReasonCategory.notAllowlisted.rawValue): no key on the path to \(chain.last?.subject.description ?? "?") is an SPKI pin of gateway \(gateway)"
        )
    }

    /// The policy as the evaluator takes it, with an identity over the pins for the verdict cache.
    static func additional(gateway: String, entries: [AllowListEntry]) -> AdditionalPolicy? {
        let pins = Set(entries.filter { $0.kind == .spkiPin }.flatMap { [$0.spkiSHA256] + ($0.nextSPKISHA256.map { [$0] } ?? []) })
        guard !pins.isEmpty else { return nil }
        var hasher = SHA256()
        for pin in pins.sorted() { hasher.update(data: Array(pin.utf8)) }
        let policy = SPKIPinPolicy(gateway: gateway, pins: pins)
        return AdditionalPolicy(identity: Array(hasher.finalize()), category: .notAllowlisted) { AnyPolicy(policy) }
    }
}
