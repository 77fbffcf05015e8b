import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import TrustGateAllowList
import TrustGatePKI

/// The open upstream TLS connections and what their backends presented, so that when the allow-list changes,
/// connections to backends that are no longer allowed are closed before they are reused.
final class UpstreamRegistry: Sendable {
    private struct Entry {
        let channel: Channel
        let presented: [ParsedCertificate]
        let hostName: String
        let mode: TrustGateAllowList.TrustMode
        let profile: VerificationProfile
    }

    private let entries = NIOLockedValueBox<[ObjectIdentifier: Entry]>([:])

    func add(
        _ channel: Channel, presented: [ParsedCertificate], hostName: String, mode: TrustGateAllowList.TrustMode,
        profile: VerificationProfile
    ) {
        let key = ObjectIdentifier(channel)
        entries.withLockedValue {
            $0[key] = Entry(channel: channel, presented: presented, hostName: hostName, mode: mode, profile: profile)
        }
        channel.closeFuture.whenComplete { [entries] _ in
            _ = entries.withLockedValue { $0.removeValue(forKey: key) }
        }
    }

    var count: Int { entries.withLockedValue { $0.count } }

    /// Re-judges every open connection with the current allow-list; closes those no longer allowed.
    func revalidate(with state: AllowListState, logger: Logger) async {
        for entry in entries.withLockedValue({ Array($0.values) }) {
            let verdict = await state.verdict(
                for: entry.presented, hostName: entry.hostName, mode: entry.mode, profile: entry.profile
            )
            if !verdict.isTrusted {
                logger.notice("closing a pooled upstream connection: its backend is no longer allowed", metadata: [
                    "reason": "\(verdict.category.rawValue)", "backend": "\(entry.presented.first?.subject.description ?? "?")",
                ])
                entry.channel.close(promise: nil)
            }
        }
    }
}
