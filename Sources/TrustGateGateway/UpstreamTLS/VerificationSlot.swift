import COpenSSL
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOTLS
import TrustGatePKI

/// ex-data. Used on the channel's event loop only (OpenSSL calls back synchronously from `SSL_do_handshake` and
/// `SSL_read`).
final class VerificationSlot {
    enum Decision {
        case undecided, allowed, denied
    }

    let sessionKey: String
    let sessions: UpstreamSessionCache
    var decision = Decision.undecided
    /// The server's `Certificate` handshake message as received (from OpenSSL's message callback).
    var certificateMessage: [UInt8]?
    /// What the verification callback found: the certificates of that message and the handshake's leaf.
    var evidence = PresentedEvidence(certificates: nil, handshakeLeaf: nil, problem: nil)
    var presented: [ParsedCertificate] = []
    var admission: UpstreamAdmission?
    /// The judge's verdict when it refused the backend.
    var refusal: TrustVerdict?
    var offered: UpstreamSessionCache.Entry?
    /// Set when the handshake completed: what a session ticket arriving later is stored with.
    var established: (presented: [ParsedCertificate], admission: UpstreamAdmission?)?

    init(sessionKey: String, sessions: UpstreamSessionCache) {
        self.sessionKey = sessionKey
        self.sessions = sessions
    }
}
