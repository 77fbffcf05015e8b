import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import PostgresNIO
import TrustGatePKI

/// Opens connections to a PostgreSQL store. TLS is negotiated here, not by postgres-nio, so that the server's
/// chain is judged by TrustGate's own evaluator (the one trust path) and a refusal names its reason category:
/// the `SSLRequest` is sent, exactly one `S` must come back (bytes after it would be injected plaintext,
/// CVE-2021-23222), the NIOSSL handshake calls ``TrustEvaluator`` with the given roots and the URL's host,
/// and only then is the channel handed to postgres-nio for the startup and authentication.
struct PostgresConnector: Sendable {
    let url: PostgresStoreURL
    private let password: String?
    private let roots: TrustAnchors?
    private let tlsContext: NIOSSLContext?
    private let group: any EventLoopGroup
    private let logger: Logger

    init(url: PostgresStoreURL, environment: [String: String], group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton)
        throws(AllowListError)
    {
        self.url = url
        self.group = group
        password = try PostgresPassword.resolve(url, environment: environment)
        var logger = Logger(label: "trustgate.store.postgres")
        logger.logLevel = .critical
        self.logger = logger
        switch url.tlsMode {
        case .disable:
            roots = nil
            tlsContext = nil
        case .require, .verifyCA, .verifyFull:
            roots = try url.rootCertificates.map(Self.loadRoots)
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            // The chain and the host name are judged by our evaluator in the callback; NIOSSL checks neither.
            configuration.certificateVerification = url.tlsMode == .require ? .none : .noHostnameVerification
            do {
                tlsContext = try NIOSSLContext(configuration: configuration)
            } catch {
                throw AllowListError(code: .storeUnreachable, reason: "cannot set up TLS: \(error)", hint: nil, file: nil)
            }
        }
    }

    private static func loadRoots(_ file: String) throws(AllowListError) -> TrustAnchors {
        do {
            if file == "system" { return try TrustAnchors.system() }
            guard let data = FileManager.default.contents(atPath: file) else {
                throw AllowListError(code: .storeUnreadable, reason: "the sslrootcert file cannot be read", hint: nil, file: file)
            }
            let certificates = try TrustAnchors.bundle(Array(data)).certificates
            guard !certificates.isEmpty else {
                throw AllowListError(code: .storeUnreadable, reason: "the sslrootcert file holds no certificate", hint: nil, file: file)
            }
            return TrustAnchors(certificates)
        } catch let error as AllowListError {
            throw error
        } catch {
            throw AllowListError(code: .storeUnreadable, reason: "the sslrootcert file: \(error)", hint: nil, file: file)
        }
    }

    /// A new, authenticated connection.
    func connect() throws(AllowListError) -> PostgresConnection {
        do {
            return try connectFuture().wait()
        } catch {
            throw describe(error)
        }
    }

    /// The same, as a future (for the gateway's listening connection, from async code).
    func connectFuture() -> EventLoopFuture<PostgresConnection> {
        let eventLoop = group.next()
        let verdict = NIOLockedValueBox<TrustVerdict?>(nil)
        let timeout = TimeAmount.seconds(Int64(url.connectTimeout))
        let channel = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connect(host: url.host, port: url.port)
        let secured: EventLoopFuture<any Channel>
        if let tlsContext {
            secured = channel.flatMap { channel in
                self.startTLS(on: channel, context: tlsContext, verdict: verdict, timeout: timeout)
            }
        } else {
            secured = channel
        }
        let url = self.url
        let password = self.password
        let logger = self.logger
        return secured.flatMap { channel in
            let configuration = PostgresConnection.Configuration(
                establishedChannel: channel, username: url.user, password: password, database: url.database
            )
            return PostgresConnection.connect(on: channel.eventLoop, configuration: configuration, id: 1, logger: logger)
        }.flatMapErrorThrowing { error in
            if let verdict = verdict.withLockedValue({ $0 }), !verdict.isTrusted {
                throw UntrustedServer(verdict: verdict)
            }
            throw error
        }
    }

    private func startTLS(
        on channel: any Channel, context: NIOSSLContext, verdict: NIOLockedValueBox<TrustVerdict?>, timeout: TimeAmount
    ) -> EventLoopFuture<any Channel> {
        let answer = channel.eventLoop.makePromise(of: Void.self)
        let request = SSLRequestHandler(answer: answer)
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            answer.fail(PostgresTLSFailure.timedOut)
            channel.close(promise: nil)
        }
        do {
            try channel.pipeline.syncOperations.addHandler(request)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        let roots = self.roots
        let mode = url.tlsMode
        let identity = ServerIdentity(url.host)
        let hostName: String? = if case .dns(let name) = identity { name } else { nil }
        return answer.futureResult.flatMap { () -> EventLoopFuture<Void> in
            channel.pipeline.removeHandler(request)
        }.flatMapThrowing { () -> HandshakeWaiter in
            let tls = try NIOSSLClientHandler(context: context, serverHostname: hostName) { certificates, promise in
                guard let roots, mode != .require else { return promise.succeed(.certificateVerified) }
                let result = Self.judge(certificates, roots: roots, identity: mode == .verifyFull ? identity : nil)
                verdict.withLockedValue { $0 = result }
                promise.succeed(result.isTrusted ? .certificateVerified : .failed)
            }
            let waiter = HandshakeWaiter(promise: channel.eventLoop.makePromise())
            try channel.pipeline.syncOperations.addHandlers([tls, waiter])
            return waiter
        }.flatMap { waiter in
            waiter.promise.futureResult
        }.flatMap { () -> EventLoopFuture<Void> in
            deadline.cancel()
            return channel.eventLoop.makeSucceededVoidFuture()
        }.map { channel }.flatMapErrorThrowing { error in
            deadline.cancel()
            channel.close(promise: nil)
            throw error
        }
    }

    /// The server's chain as TrustGate's evaluator judges it.
    static func judge(_ certificates: [NIOSSLCertificate], roots: TrustAnchors, identity: ServerIdentity?) -> TrustVerdict {
        var parsed: [ParsedCertificate] = []
        for certificate in certificates {
            do {
                parsed.append(try ParsedCertificate(der: try certificate.toDERBytes()))
            } catch {
                return TrustVerdict(chain: parsed, problems: [TrustProblem(.malformed, "the server sent a certificate that does not parse: \(error)")])
            }
        }
        let request = TrustEvaluationRequest(presented: parsed, roots: roots, identity: identity, profile: .compatible)
        return TrustEvaluator().evaluateNow(request)
    }

    /// Why a connection failed, in TrustGate's words, without the password (which no error here carries).
    func describe(_ error: any Error) -> AllowListError {
        let target = url.description
        if let error = error as? UntrustedServer {
            // sslrootcert is the whole trust set of this connection: a chain that does not reach it, whether the
            // server sent its root or not, is one whose root is not trusted here.
            let category = error.verdict.category == .incompleteChain ? ReasonCategory.untrustedRoot : error.verdict.category
            return AllowListError(
                code: .storeUntrusted,
                reason: "the PostgreSQL server's certificate is not trusted: \(category.rawValue): \(error.verdict.detail)",
                hint: category == .hostnameMismatch
                    ? "the URL's host must be a name the server's certificate carries"
                    : "sslrootcert must hold the root the server's certificate chains to", file: target
            )
        }
        if let error = error as? StatementTimedOut {
            return AllowListError(
                code: .storeUnreachable,
                reason: "PostgreSQL did not answer within \(error.seconds) s (statement-timeout): the connection was closed",
                hint: nil, file: target
            )
        }
        if let error = error as? PostgresTLSFailure {
            return AllowListError(code: .storeUnreachable, reason: error.description, hint: nil, file: target)
        }
        if let error = error as? PSQLError {
            if error.code == .server, let state = error.serverInfo?[.sqlState] {
                let message = error.serverInfo?[.message] ?? "error \(state)"
                switch state {
                case "28P01", "28000":
                    return AllowListError(
                        code: .storeAccessDenied, reason: "PostgreSQL refused the login of user \(url.user): \(message)",
                        hint: "check the password source (password-file, password-env or ~/.pgpass)", file: target
                    )
                case "57P01", "57P02", "57P03", "53300":
                    // Shutting down, crashed, starting up, too many connections: the server is not available now.
                    return AllowListError(code: .storeUnreachable, reason: "PostgreSQL: \(message)", hint: nil, file: target)
                case "3D000":
                    return AllowListError(code: .storeAccessDenied, reason: "PostgreSQL: \(message)", hint: nil, file: target)
                default:
                    return AllowListError(code: .storeUnwritable, reason: "PostgreSQL error \(state): \(message)", hint: nil, file: target)
                }
            }
            if error.code == .authMechanismRequiresPassword {
                return AllowListError(
                    code: .storeAccessDenied, reason: "PostgreSQL asks for a password and none was given",
                    hint: "add password-file=FILE or password-env=VAR to the store URL, or a ~/.pgpass line", file: target
                )
            }
            return AllowListError(
                code: .storeUnreachable, reason: "the PostgreSQL connection failed (\(error.code))", hint: nil, file: target
            )
        }
        if let error = error as? AllowListError { return error }
        return AllowListError(code: .storeUnreachable, reason: "cannot reach PostgreSQL: \(error)", hint: nil, file: target)
    }
}

struct UntrustedServer: Error {
    let verdict: TrustVerdict
}

enum PostgresTLSFailure: Error, CustomStringConvertible {
    case refusedTLS, injectedBytes, unexpectedAnswer(UInt8), timedOut, closed

    var description: String {
        switch self {
        case .refusedTLS: return "the PostgreSQL server does not accept TLS (sslmode asks for it)"
        case .injectedBytes: return "the PostgreSQL server sent data after accepting TLS, before the handshake: refused"
        case .unexpectedAnswer(let byte): return "the PostgreSQL server answered the TLS request with byte \(byte)"
        case .timedOut: return "the PostgreSQL server did not complete the TLS handshake in time"
        case .closed: return "the PostgreSQL server closed the connection during the TLS request"
        }
    }
}

/// Sends PostgreSQL's `SSLRequest` and reads its one-byte answer.
private final class SSLRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let answer: EventLoopPromise<Void>
    private var answered = false

    init(answer: EventLoopPromise<Void>) {
        self.answer = answer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Length 8, then the code 80877103 (1234 << 16 | 5679).
        var request = context.channel.allocator.buffer(capacity: 8)
        request.writeInteger(UInt32(8))
        request.writeInteger(UInt32(80_877_103))
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard !answered else {
            answer.fail(PostgresTLSFailure.injectedBytes)
            context.close(promise: nil)
            return
        }
        answered = true
        guard buffer.readableBytes == 1, let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else {
            answer.fail(buffer.readableBytes > 1 ? PostgresTLSFailure.injectedBytes : PostgresTLSFailure.closed)
            context.close(promise: nil)
            return
        }
        switch byte {
        case UInt8(ascii: "S"): answer.succeed()
        case UInt8(ascii: "N"):
            answer.fail(PostgresTLSFailure.refusedTLS)
            context.close(promise: nil)
        default:
            answer.fail(PostgresTLSFailure.unexpectedAnswer(byte))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer.fail(PostgresTLSFailure.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answer.fail(error)
        context.close(promise: nil)
    }
}

/// Completes when the TLS handshake does, then gets out of the way.
private final class HandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            promise.succeed()
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(PostgresTLSFailure.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }
}
