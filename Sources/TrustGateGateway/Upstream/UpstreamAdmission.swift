import Foundation
import TrustGatePKI

/// What a backend proved in a full TLS handshake, as the verification callback found it: the certificates of
/// its `Certificate` message as received, and the certificate whose key OpenSSL checks the handshake signature
/// with. `problem` says why the certificates are missing (a message that cannot be read).
struct PresentedEvidence: Sendable {
    var certificates: [[UInt8]]?
    var handshakeLeaf: [UInt8]?
    var problem: String?

    /// The chain to judge, through the one builder every trust decision uses, or the refusal.
    var chain: PresentedChain.Outcome {
        guard let certificates else {
            return .refused(TrustProblem(.malformed, problem ?? "the backend's certificates were not seen"))
        }
        return PresentedChain.parse(certificates, handshakeLeaf: handshakeLeaf)
    }
}

/// The judge's answer for one handshake: the chain as it was judged (empty when it could not be built) and, when
/// the backend is allowed, what that admits; when it is not, the verdict that refused it.
struct Judgement: Sendable {
    var presented: [ParsedCertificate]
    var admission: UpstreamAdmission?
    var refusal: TrustVerdict?

    /// Builds the judged chain from `evidence` (a chain that cannot be built is refused as it is), then asks
    /// `decide` for the verdict on a chain that could be, and what an allowing verdict admits.
    static func of(
        _ evidence: PresentedEvidence,
        decide: @Sendable ([ParsedCertificate]) async -> (verdict: TrustVerdict, admission: UpstreamAdmission?)
    ) async -> Judgement {
        switch evidence.chain {
        case .refused(let problem):
            return Judgement(presented: [], admission: nil, refusal: TrustVerdict(chain: [], problems: [problem]))
        case .chain(let presented):
            let (verdict, admission) = await decide(presented)
            return Judgement(presented: presented, admission: admission, refusal: admission == nil ? verdict : nil)
        }
    }
}

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
