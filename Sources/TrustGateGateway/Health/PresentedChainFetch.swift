import Foundation
import NIOCore
import NIOPosix
import TrustGatePKI

/// What `allowlist check --connect` gets from a backend: the chain it presented (parsed, exactly as sent), or
/// why there is none, in the reason categories.
public enum PresentedChainFetch: Sendable {
    case chain([ParsedCertificate])
    case failed(ReasonCategory, String)

    /// The chain a backend presents, over the gateway's own TLS client (the same OpenSSL context, limits,
    /// timeouts and chain builder as live traffic), without judging it: `allowlist check --connect` judges it
    /// with the allow-list it names. `timeout` bounds the whole exchange.
    public static func fetch(host: String, port: Int, serverName: String?, timeout: TimeInterval) async -> Self {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        let connector: UpstreamConnector
        do {
            connector = try UpstreamConnector(state: AllowListState(gateway: "-", version: 0, entries: []))
        } catch {
            return .failed(.handshakeFailed, "\(error)")
        }
        let tls = UpstreamConnector.TLSRequest(serverName: serverName, sessionKey: "", identity: nil) { evidence in
            await Judgement.of(evidence) { presented in
                (TrustVerdict(chain: presented, problems: []), UpstreamAdmission(generation: 0, validUntil: .distantFuture))
            }
        }
        let opened = connector.open(
            host: host, port: port, timeout: timeout, tls: tls, eventLoop: group.next()
        ) { $0.eventLoop.makeSucceededVoidFuture() }
        let result: UpstreamConnectResult
        do {
            result = try await opened.get()
        } catch {
            return .failed(.handshakeFailed, "\(error)")
        }
        guard case .connected(let connection) = result else { return .failed(result.category, result.detail) }
        try? await connection.channel.close()
        return .chain(connection.presented)
    }
}
