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
