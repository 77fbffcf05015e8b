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
    struct Connection {
        let channel: Channel
        let verdict: UpstreamVerdictBox
        let target: String
    }

    enum Failure: Error {
        /// The allow-list refused the backend: the verdict, and the chain as presented.
        case rejected(TrustVerdict, presented: [ParsedCertificate])
        case unreachable(String)
        case timeout(String)
        case handshakeFailed(String)
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
    /// the result is ``Failure/timeout(_:)``.
    func connect(
        member: GatewayConfiguration.Member, settings: GatewayConfiguration.BackendSettings, eventLoop: EventLoop,
        responseHandler: @escaping @Sendable (Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<Connection> {
        let hostName = settings.hostName(for: member)
        let box = UpstreamVerdictBox()
        let state = self.state
        let tls: TLSRequest? = settings.scheme == .https ? TLSRequest(
            serverName: hostName,
            // A session made with one client certificate is not resumed with another.
            sessionKey: "\(member.host):\(settings.port(for: member))\u{0}\(hostName)\u{0}\(settings.trust)\u{0}"
                + "\(settings.verificationProfile)\u{0}\(settings.clientCertificate.map { "\($0)" } ?? "")",
            identity: settings.clientCertificate == nil ? nil : identities.withLockedValue { $0[settings.name] },
            judge: { evidence in
                await box.judge(evidence) { presented in
                    let (verdict, generation) = await state.versionedVerdict(
                        for: presented, hostName: hostName, mode: settings.trust, profile: settings.verificationProfile
                    )
                    box.verdict = verdict
                    return verdict.isTrusted ? UpstreamAdmission(generation: generation, verdict: verdict) : nil
                }
            }
        ) : nil
        return open(
            host: member.host, port: settings.port(for: member), timeout: settings.connectTimeout, tls: tls, box: box,
            eventLoop: eventLoop, responseHandler: responseHandler
        ).map { connection in
            if settings.scheme == .https {
                self.registry.add(connection.channel, presented: box.presented, hostName: hostName, mode: settings.trust,
                                  profile: settings.verificationProfile)
            }
            return connection
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
    func open(
        host: String, port: Int, timeout: TimeInterval, tls: TLSRequest?, box: UpstreamVerdictBox, eventLoop: EventLoop,
        responseHandler: @escaping @Sendable (Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<Connection> {
        let handshake = eventLoop.makePromise(of: Void.self)
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
                            identity: tls.identity, judge: tls.judge,
                            established: { presented, admission in
                                box.presented = presented
                                box.admission = admission
                            }
                        )
                        try channel.pipeline.syncOperations.addHandler(tlsHandler)
                        try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(promise: handshake))
                    } else {
                        handshake.succeed()
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
                    if let verdict = box.verdict, !verdict.isTrusted {
                        throw Failure.rejected(verdict, presented: box.presented)
                    }
                    if case UpstreamTLSHandler.Failure.oversizedCertificates = error {
                        let problem = TrustProblem(.tooComplex, "\(error); at most that many are read")
                        throw Failure.rejected(TrustVerdict(chain: [], problems: [problem]), presented: [])
                    }
                    if let failure = error as? Failure { throw failure }
                    throw Failure.handshakeFailed("TLS handshake with \(target) failed: \(error)")
                }.map {
                    timer.cancel()
                    return Connection(channel: channel, verdict: box, target: target)
                }.flatMapErrorWithEventLoop { error, loop in
                    timer.cancel()
                    channel.close(promise: nil)
                    return loop.makeFailedFuture(error)
                }
            }
    }

    /// `2 s`, `0.5 s`: a timeout as a log line says it.
    static func seconds(_ timeout: TimeInterval) -> String {
        timeout.isFinite && abs(timeout) < 1e9 && timeout == timeout.rounded() ? "\(Int(timeout)) s" : "\(timeout) s"
    }
}

/// Completes `promise` when the TLS handshake finishes, or fails it when the connection errors or closes first.
final class HandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let promise: EventLoopPromise<Void>
    private var done = false

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case TLSUserEvent.handshakeCompleted = event, !done else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        done = true
        promise.succeed()
        context.fireUserInboundEventTriggered(event)
        // Out of the way of every read that follows.
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !done {
            done = true
            promise.fail(error)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(ChannelError.eof)
        }
        context.fireChannelInactive()
    }
}

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
