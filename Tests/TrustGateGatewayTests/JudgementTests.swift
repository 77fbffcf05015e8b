import Testing
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

@Suite("PresentedEvidence and Judgement: what the backend presented, judged once")
struct JudgementTests {
    static func judge(_ evidence: PresentedEvidence) async -> (Judgement, decided: Bool) {
        let decided = DecidedFlag()
        let judgement = await Judgement.of(evidence) { presented in
            decided.set()
            let verdict = TrustVerdict(chain: presented, problems: [])
            return (verdict, UpstreamAdmission(generation: 3, verdict: verdict))
        }
        return (judgement, decided.value)
    }

    final class DecidedFlag: @unchecked Sendable {
        private(set) var value = false
        func set() { value = true }
    }

    @Test("Nothing seen, or a certificate that does not parse, is refused as malformed without asking for a verdict")
    func refused() async {
        let (unseen, askedUnseen) = await Self.judge(PresentedEvidence(certificates: nil, handshakeLeaf: nil, problem: nil))
        #expect(unseen.refusal?.category == .malformed && unseen.admission == nil && !askedUnseen)
        let (garbage, askedGarbage) = await Self.judge(PresentedEvidence(certificates: [[0x30, 0x03, 0x02, 0x01]],
                                                                        handshakeLeaf: [0x30, 0x03, 0x02, 0x01], problem: nil))
        #expect(garbage.refusal?.category == .malformed && !askedGarbage)
    }

    @Test("A chain that parses is judged, and an allowing verdict's admission is kept")
    func judged() async throws {
        let pki = try TestPKI()
        let valid = try #require(pki.backends["valid"])
        let der = ([valid.certificate] + valid.chain).map(\.der)
        let (judgement, asked) = await Self.judge(PresentedEvidence(certificates: der, handshakeLeaf: der.first, problem: nil))
        #expect(asked)
        #expect(judgement.refusal == nil)
        #expect(judgement.admission?.generation == 3)
        #expect(judgement.presented.map(\.der) == der)
    }

    @Test("A leaf other than the one the handshake was signed with is refused")
    func otherLeaf() async throws {
        let pki = try TestPKI()
        let valid = try #require(pki.backends["valid"])
        let (judgement, asked) = await Self.judge(PresentedEvidence(
            certificates: [valid.certificate.der], handshakeLeaf: pki.root.certificate.der, problem: nil
        ))
        #expect(judgement.refusal != nil && judgement.admission == nil && !asked)
    }
}
