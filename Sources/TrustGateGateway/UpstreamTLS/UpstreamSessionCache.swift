import COpenSSL
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOTLS
import TrustGatePKI

/// Resumable sessions per backend (address and expected name), each with the chain and allow-list version of the
/// verdict its full handshake got. One per key, the latest, as nginx keeps one per upstream server.
final class UpstreamSessionCache: @unchecked Sendable {
    final class Entry: @unchecked Sendable {
        let session: OpaquePointer
        let presented: [ParsedCertificate]
        let admission: UpstreamAdmission

        init(session: OpaquePointer, presented: [ParsedCertificate], admission: UpstreamAdmission) {
            self.session = session
            self.presented = presented
            self.admission = admission
        }

        deinit {
            SSL_SESSION_free(session)
        }
    }

    private let entries = NIOLockedValueBox<[String: Entry]>([:])

    /// The session for `key`, only if it was judged under the allow-list generation in force and its verdict
    /// still holds at `time` (no certificate of its chain has expired since).
    func session(for key: String, generation: Int64, at time: Date) -> Entry? {
        entries.withLockedValue { entries in
            guard let entry = entries[key] else { return nil }
            guard entry.admission.admits(generation: generation, at: time) else {
                entries[key] = nil
                return nil
            }
            return entry
        }
    }

    func store(_ entry: Entry, for key: String) {
        entries.withLockedValue { $0[key] = entry }
    }

    var count: Int { entries.withLockedValue { $0.count } }
}
