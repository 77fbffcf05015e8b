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

/// How connecting to a backend ended: one value, the verdict carried with the handshake that produced it.
enum UpstreamConnectResult {
    case connected(UpstreamConnector.Connection)
    /// The allow-list refused the backend: the verdict, and the chain as presented (empty when it could not be
    /// built).
    case rejected(TrustVerdict, presented: [ParsedCertificate])
    case unreachable(String)
    case timeout(String)
    case handshakeFailed(String)

    /// The reason category of a failed attempt (`ok` when connected).
    var category: ReasonCategory {
        switch self {
        case .connected: return .ok
        case .rejected(let verdict, _): return verdict.category
        case .unreachable: return .unreachable
        case .timeout: return .timeout
        case .handshakeFailed: return .handshakeFailed
        }
    }

    /// What went wrong, for a log line or a report.
    var detail: String {
        switch self {
        case .connected: return ""
        case .rejected(let verdict, _): return verdict.detail
        case .unreachable(let detail), .timeout(let detail), .handshakeFailed(let detail): return detail
        }
    }
}
