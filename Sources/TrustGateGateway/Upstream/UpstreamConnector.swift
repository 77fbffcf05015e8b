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

/// Opens connections to backends. For `https` settings, a new TLS connection whose certificate check is the
/// allow-list policy on the one ``TrustEvaluator``: NIOSSL's custom verification callback hands the presented
/// chain to it and completes asynchronously, never blocking the event loop.
final class UpstreamConnector: Sendable {
    /// An open connection to a backend, with what its handshake established.
    struct Connection {
        let channel: Channel
        /// The chain the backend presented (for a resumed session, when the session was made); empty for HTTP.
        let presented: [ParsedCertificate]
        /// What the allowing verdict admits; nil for plain HTTP.
        let admission: UpstreamAdmission?
        let target: String
    }

    /// How a connection attempt failed, inside the connector (callers get an ``UpstreamConnectResult``).
    private enum Failure: Error {
        case rejected(TrustVerdict, presented: [ParsedCertificate])
        case unreachable(String)
        case timeout(String)
        case handshakeFailed(String)

        var result: UpstreamConnectResult {
            switch self {
            case .rejected(let verdict, let presented): return .rejected(verdict, presented: presented)
            case .unreachable(let detail): return .unreachable(detail)
            case .timeout(let detail): return .timeout(detail)
            case .handshakeFailed(let detail): return .handshakeFailed(detail)
            }
        }
    }

    private let sslContext: UpstreamTLSContext
    private let state: AllowListState
    let registry = UpstreamRegistry()
    let pool = UpstreamPool()
    /// Client certificates by backend settings name (mutual TLS upstream), loaded with each configuration.
    private let identities = NIOLockedValueBox<[String: UpstreamClientIdentity]>([:])

    /// Reads every backend setting's client certificate (before anything is swapped: a bad file fails the
    /// load or the reload as a configuration problem naming the settings and the file).
    func loadIdentities(_ configuration: GatewayConfiguration) throws(ConfigurationProblems) {
        var loaded: [String: UpstreamClientIdentity] = [:]
        for settings in configuration.backendSettings {
            guard let certificate = settings.clientCertificate else { continue }
            let path = "backend-settings.\(settings.name).client-certificate"
            do {
                let (bundle, key) = try GatewayServer.identity(certificate, path: path)
                loaded[settings.name] = try UpstreamClientIdentity(bundle: bundle, key: key)
            } catch let problems as ConfigurationProblems {
                throw problems
            } catch {
                throw ConfigurationProblems([ConfigurationProblem(path: path, line: nil, column: nil, message: "\(error)")])
            }
        }
        identities.withLockedValue { $0 = loaded }
    }

    /// The allow-list generation in force.
    var generation: Int64 { state.generation }

    init(state: AllowListState) throws {
        sslContext = try UpstreamTLSContext()
        self.state = state
    }

    /// Resumable TLS sessions held (one per backend and expected name).
    var resumableSessions: Int { sslContext.sessions.count }

    /// Connects on `eventLoop` (the client connection's own loop) to `member` with `settings`. The backend's
    /// chain is judged by the allow-list during the handshake; `settings.connectTimeout` bounds the TCP connect
    /// and the TLS handshake together (nginx's `proxy_connect_timeout`), after which the connection is closed and
    /// the result is ``UpstreamConnectResult/timeout(_:)``. The future never fails.
    func connect(
        member: GatewayConfiguration.Member, settings: GatewayConfiguration.BackendSettings, eventLoop: EventLoop,
        responseHandler: @escaping @Sendable (Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<UpstreamConnectResult> {
        let hostName = settings.hostName(for: member)
        let state = self.state
        let tls: TLSRequest? = settings.scheme == .https ? TLSRequest(
            serverName: hostName,
            sessionKey: UpstreamEndpoint(member: member, settings: settings).sessionKey,
            identity: settings.clientCertificate == nil ? nil : identities.withLockedValue { $0[settings.name] },
            judge: { evidence in
                await Judgement.of(evidence) { presented in
                    let (verdict, generation) = await state.versionedVerdict(
                        for: presented, hostName: hostName, mode: settings.trust, profile: settings.verificationProfile
                    )
                    return (verdict, verdict.isTrusted ? UpstreamAdmission(generation: generation, verdict: verdict) : nil)
                }
            }
        ) : nil
        return open(
            host: member.host, port: settings.port(for: member), timeout: settings.connectTimeout, tls: tls,
            eventLoop: eventLoop, responseHandler: responseHandler
        ).map { result in
            if settings.scheme == .https, case .connected(let connection) = result {
                self.registry.add(connection.channel, presented: connection.presented, hostName: hostName,
                                  mode: settings.trust, profile: settings.verificationProfile)
            }
            return result
        }
    }

    /// How to speak TLS on a new connection.
    struct TLSRequest {
        var serverName: String
        var sessionKey: String
        var identity: UpstreamClientIdentity?
        var judge: UpstreamTLSHandler.Judge

        init(serverName: String?, sessionKey: String, identity: UpstreamClientIdentity?,
             judge: @escaping UpstreamTLSHandler.Judge) {
            self.serverName = serverName ?? ""
            self.sessionKey = sessionKey
            self.identity = identity
            self.judge = judge
        }
    }

    /// TCP, then TLS when `tls` is given, within `timeout` seconds for both; the channel is closed on any failure.
    /// The future never fails: a failure is a result.
    func open(
        host: String, port: Int, timeout: TimeInterval, tls: TLSRequest?, eventLoop: EventLoop,
        responseHandler: @escaping @Sendable (Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<UpstreamConnectResult> {
        let handshake = eventLoop.makePromise(of: UpstreamTLSHandler.Established.self)
        let sslContext = self.sslContext
        let generation = state.generation
        let target = "\(host):\(port)"
        let budget = TimeAmount.seconds(clamping: timeout)
        let deadline = NIODeadline.now() + budget
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(budget)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                do {
                    if let tls {
                        let sni = IPAddressBytes.parse(tls.serverName) == nil && !tls.serverName.isEmpty ? tls.serverName : nil
                        let tlsHandler = try UpstreamTLSHandler(
                            context: sslContext, serverName: sni, sessionKey: tls.sessionKey, generation: generation,
                            identity: tls.identity, judge: tls.judge
                        )
                        try channel.pipeline.syncOperations.addHandler(tlsHandler)
                        try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(promise: handshake))
                    } else {
                        handshake.succeed(UpstreamTLSHandler.Established(presented: [], admission: nil))
                    }
                    return responseHandler(channel)
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        let seconds = Self.seconds(timeout)
        return bootstrap.connect(host: host, port: port)
            .flatMapError { error in
                let failure: Failure =
                    if case ChannelError.connectTimeout = error {
                        .timeout("no TCP connection to \(target) within \(seconds)")
                    } else {
                        .unreachable("cannot connect to \(target): \(error)")
                    }
                handshake.fail(failure)
                return eventLoop.makeFailedFuture(failure)
            }
            .flatMap { channel in
                // The TLS handshake (verdict included) must finish within what is left of the budget.
                let timer = channel.eventLoop.scheduleTask(deadline: deadline) {
                    handshake.fail(Failure.timeout("no TLS handshake with \(target) within \(seconds)"))
                }
                return handshake.futureResult.flatMapErrorThrowing { error in
                    switch error {
                    case UpstreamTLSHandler.Failure.rejected(let verdict, let presented):
                        throw Failure.rejected(verdict, presented: presented)
                    case UpstreamTLSHandler.Failure.oversizedCertificates:
                        let problem = TrustProblem(.tooComplex, "\(error); at most that many are read")
                        throw Failure.rejected(TrustVerdict(chain: [], problems: [problem]), presented: [])
                    case let failure as Failure:
                        throw failure
                    default:
                        throw Failure.handshakeFailed("TLS handshake with \(target) failed: \(error)")
                    }
                }.map { established in
                    timer.cancel()
                    return Connection(channel: channel, presented: established.presented,
                                      admission: established.admission, target: target)
                }.flatMapErrorWithEventLoop { error, loop in
                    timer.cancel()
                    channel.close(promise: nil)
                    return loop.makeFailedFuture(error)
                }
            }
            .map { UpstreamConnectResult.connected($0) }
            .recover { error in
                (error as? Failure)?.result ?? .handshakeFailed("connection to \(target) failed: \(error)")
            }
    }

    /// `2 s`, `0.5 s`: a timeout as a log line says it.
    static func seconds(_ timeout: TimeInterval) -> String {
        timeout.isFinite && abs(timeout) < 1e9 && timeout == timeout.rounded() ? "\(Int(timeout)) s" : "\(timeout) s"
    }
}
