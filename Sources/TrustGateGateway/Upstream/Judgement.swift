import Foundation
import TrustGatePKI

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
