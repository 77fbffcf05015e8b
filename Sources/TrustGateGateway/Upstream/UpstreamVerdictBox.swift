import NIOConcurrencyHelpers
import TrustGatePKI

/// Carries the verdict of one upstream handshake from the TLS verification callback to the proxy handler that
/// must answer the client (502 with the category) and to the connection registry (re-checks after a reload).
final class UpstreamVerdictBox: Sendable {
    private let value = NIOLockedValueBox<TrustVerdict?>(nil)
    private let chain = NIOLockedValueBox<[ParsedCertificate]>([])
    private let admitted = NIOLockedValueBox<UpstreamAdmission?>(nil)

    /// What the verdict admits (nil for plain HTTP, and for a backend that was not allowed).
    var admission: UpstreamAdmission? {
        get { admitted.withLockedValue { $0 } }
        set { admitted.withLockedValue { $0 = newValue } }
    }

    var verdict: TrustVerdict? {
        get { value.withLockedValue { $0 } }
        set { value.withLockedValue { $0 = newValue } }
    }

    var presented: [ParsedCertificate] {
        get { chain.withLockedValue { $0 } }
        set { chain.withLockedValue { $0 = newValue } }
    }

    /// Judges one handshake: builds the judged chain from `evidence` (a chain that cannot be built is the
    /// verdict, a refusal), then asks `admit` about a chain that could be.
    func judge(
        _ evidence: PresentedEvidence, admit: @Sendable ([ParsedCertificate]) async -> UpstreamAdmission?
    ) async -> Judgement {
        switch evidence.chain {
        case .refused(let problem):
            verdict = TrustVerdict(chain: [], problems: [problem])
            return Judgement(presented: [], admission: nil)
        case .chain(let presented):
            self.presented = presented
            return Judgement(presented: presented, admission: await admit(presented))
        }
    }
}
