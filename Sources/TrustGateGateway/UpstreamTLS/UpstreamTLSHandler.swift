import COpenSSL
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOTLS
import TrustGatePKI

/// The gateway's upstream TLS client on the system OpenSSL 3, because swift-nio-ssl has no client session API
/// and the issue asks for resumed sessions to backends (nginx's `proxy_ssl_session_reuse on`).
///
/// TLS runs over memory BIOs inside the channel pipeline. The backend's certificate chain is judged by the
/// allow-list policy on the one trust evaluator, asynchronously: OpenSSL's verification callback parks the
/// handshake (`SSL_set_retry_verify`), the verdict is computed off the event loop, and the handshake resumes
/// with it, so a rejected backend gets a fatal alert before any request byte is sent.
///
/// Sessions (TLS 1.3 tickets, TLS 1.2 session ids) are kept per backend address and expected name, with the
/// chain and allow-list version of the verdict they were established under. A session is offered only while
/// the allow-list is at that version: after any change, the next connection does a full handshake and is
/// judged again.
final class UpstreamTLSHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Judges what the backend presented in a full handshake: the chain it is judged as, and what the verdict
    /// admits (nil: refused).
    typealias Judge = @Sendable (PresentedEvidence) async -> Judgement

    enum Failure: Error, CustomStringConvertible {
        case handshake(String)
        case connection(String)
        /// The backend's Certificate message is over ``UpstreamTLSContext/maximumCertificateList``.
        case oversizedCertificates
        /// The judge refused what the backend presented: its verdict, and the chain as judged.
        case rejected(TrustVerdict, presented: [ParsedCertificate])

        var description: String {
            switch self {
            case .handshake(let detail): return "TLS handshake failed: \(detail)"
            case .connection(let detail): return "TLS failed: \(detail)"
            case .oversizedCertificates:
                return "the backend's certificates are over \(UpstreamTLSContext.maximumCertificateList) bytes"
            case .rejected(let verdict, _): return "the backend is not allowed: \(verdict.category.rawValue)"
            }
        }
    }

    private enum State {
        case idle, handshaking, verifying, active, closed
    }

    /// Sent up the pipeline, before NIOTLS's `handshakeCompleted`, once the handshake completes: the chain the
    /// backend presented (for a resumed session, when the session was made) and what its verdict admits.
    struct Established: Sendable {
        let presented: [ParsedCertificate]
        let admission: UpstreamAdmission?
    }

    private let ssl: OpaquePointer
    private let network: NetworkBIO
    private let slot: VerificationSlot
    private let judge: Judge
    private let sessions: UpstreamSessionCache
    private var state = State.idle
    private var pendingWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var pendingFlush = false
    private var context: ChannelHandlerContext?
    /// A receive buffer that got no plaintext last time: reused, so an empty read allocates nothing.
    private var spare: ByteBuffer?

    /// The chain the backend presented (or, on a resumed session, presented when the session was made) and what
    /// its verdict admits; set once the handshake completes.
    private(set) var presented: [ParsedCertificate] = []
    private(set) var admission: UpstreamAdmission?
    private(set) var resumed = false

    /// `generation` is the allow-list generation in force: only a session judged under it is offered.
    init(
        context sslContext: UpstreamTLSContext, serverName: String?, sessionKey: String, generation current: Int64,
        identity: UpstreamClientIdentity? = nil, judge: @escaping Judge
    ) throws {
        guard let ssl = SSL_new(sslContext.pointer) else {
            throw Failure.handshake("OpenSSL: \(OpenSSLLibrary.drainErrors())")
        }
        if let identity, !identity.apply(to: ssl) {
            SSL_free(ssl)
            throw Failure.handshake("OpenSSL: cannot use the client certificate: \(OpenSSLLibrary.drainErrors())")
        }
        let network = NetworkBIO()
        guard let method = NetworkBIO.method, let bio = BIO_new(method) else {
            SSL_free(ssl)
            throw Failure.handshake("OpenSSL: \(OpenSSLLibrary.drainErrors())")
        }
        BIO_set_data(bio, Unmanaged.passUnretained(network).toOpaque())
        SSL_set_bio(ssl, bio, bio)  // the SSL owns it from here; `network` outlives it (freed in deinit)
        SSL_set_connect_state(ssl)
        if let serverName { _ = trustgate_SSL_set_tlsext_host_name(ssl, serverName) }
        self.ssl = ssl
        self.network = network
        self.judge = judge
        sessions = sslContext.sessions
        slot = VerificationSlot(sessionKey: sessionKey, sessions: sslContext.sessions)
        SSL_set_ex_data(ssl, UpstreamTLSContext.slotIndex, Unmanaged.passUnretained(slot).toOpaque())
        if let cached = sessions.session(for: sessionKey, generation: current, at: Date()) {
            SSL_set_session(ssl, cached.session)
            slot.offered = cached
        }
    }

    deinit {
        SSL_free(ssl)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { startHandshake(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        startHandshake(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        failPendingWrites(Failure.connection("the backend closed the connection"))
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if network.inbound == nil {
            network.inbound = buffer
        } else {
            network.inbound?.writeBuffer(&buffer)  // a partial record was left: rare
        }
        drive(context: context)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        switch state {
        case .active:
            encrypt(buffer, promise: promise, context: context)
        case .idle, .handshaking, .verifying:
            pendingWrites.append((buffer, promise))
        case .closed:
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    func flush(context: ChannelHandlerContext) {
        if case .active = state {
            context.flush()
        } else {
            pendingFlush = true
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all, case .active = state {
            state = .closed
            _ = SSL_shutdown(ssl)  // close_notify, best effort
            writeCiphertext(promise: nil, context: context)
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }

    // MARK: TLS

    private func startHandshake(context: ChannelHandlerContext) {
        guard case .idle = state else { return }
        state = .handshaking
        drive(context: context)
    }

    /// Advances the handshake, or decrypts what has arrived, then sends what OpenSSL produced.
    private func drive(context: ChannelHandlerContext) {
        if case .handshaking = state {
            ERR_clear_error()
            let result = SSL_do_handshake(ssl)
            if result == 1 {
                handshakeCompleted(context: context)
            } else {
                let error = SSL_get_error(ssl, result)
                switch error {
                case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                    writeCiphertext(promise: nil, context: context)
                    context.flush()
                case SSL_ERROR_WANT_RETRY_VERIFY:
                    verify(context: context)
                default:
                    if trustgate_ERR_peek_is_excessive_message() == 1 {
                        _ = OpenSSLLibrary.drainErrors()
                        fail(Failure.oversizedCertificates, context: context)
                        return
                    }
                    if slot.decision == .denied {
                        _ = OpenSSLLibrary.drainErrors()
                        let verdict = slot.refusal ?? TrustVerdict(
                            chain: slot.presented, problems: [TrustProblem(.handshakeFailed, "the judge gave no verdict")]
                        )
                        fail(Failure.rejected(verdict, presented: slot.presented), context: context)
                        return
                    }
                    fail(Failure.handshake(OpenSSLLibrary.drainErrors()), context: context)
                }
                return
            }
        }
        guard case .active = state else { return }
        decryptAvailable(context: context)
    }

    private func handshakeCompleted(context: ChannelHandlerContext) {
        state = .active
        resumed = SSL_session_reused(ssl) == 1
        if resumed, let offered = slot.offered {
            presented = offered.presented
            admission = offered.admission
        } else {
            presented = slot.presented
            admission = slot.admission
        }
        slot.established = (presented, admission)
        writeCiphertext(promise: nil, context: context)
        context.fireUserInboundEventTriggered(Established(presented: presented, admission: admission))
        context.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))
        let writes = pendingWrites
        pendingWrites = []
        for (buffer, promise) in writes { encrypt(buffer, promise: promise, context: context) }
        // The client's last flight goes now even when no request follows at once (a probe, a test): until the
        // backend has it, its handshake is not complete and it sends no session ticket. When the proxy wrote a
        // request during `Established`, both already went in one flush and this one sends nothing.
        pendingFlush = false
        context.flush()
        decryptAvailable(context: context)
    }

    /// The verification callback parked the handshake with what the backend presented: judge it off the event
    /// loop, on the judge's own threads (parsing included: a hostile chain costs the event loop nothing).
    private func verify(context: ChannelHandlerContext) {
        state = .verifying
        let evidence = slot.evidence
        let judge = self.judge
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let promise = context.eventLoop.makePromise(of: Judgement.self)
        Task(executorPreference: ThreadPoolExecutor.judge) { promise.succeed(await judge(evidence)) }
        promise.futureResult.whenComplete { result in
            let (handler, context) = bound.value
            guard case .verifying = handler.state else { return }
            let judgement = (try? result.get()) ?? Judgement(presented: [], admission: nil, refusal: nil)
            handler.slot.presented = judgement.presented
            handler.slot.admission = judgement.admission
            handler.slot.refusal = judgement.refusal
            handler.slot.decision = judgement.admission == nil ? .denied : .allowed
            handler.state = .handshaking
            handler.drive(context: context)
        }
    }

    private func decryptAvailable(context: ChannelHandlerContext) {
        var produced = false
        while case .active = state {
            var buffer = spare ?? context.channel.allocator.buffer(capacity: 16_384)
            spare = nil
            ERR_clear_error()
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 16_384) { bytes in
                Int(max(0, SSL_read(ssl, bytes.baseAddress, Int32(bytes.count))))
            }
            if count > 0 {
                produced = true
                context.fireChannelRead(wrapInboundOut(buffer))
                // Nothing more arrived and OpenSSL holds nothing: no SSL_read that can only say WANT_READ.
                if network.inbound == nil, SSL_has_pending(ssl) == 0 { break }
                continue
            }
            spare = buffer
            let error = SSL_get_error(ssl, 0)
            switch error {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                break
            case SSL_ERROR_ZERO_RETURN:
                // close_notify from the backend: it is done with this connection. Answering it marks the TLS
                // session cleanly closed; OpenSSL drops the session of a connection that ends otherwise.
                state = .closed
                _ = SSL_shutdown(ssl)
                writeCiphertext(promise: nil, context: context)
                context.flush()
                context.close(promise: nil)
            default:
                fail(Failure.connection(OpenSSLLibrary.drainErrors()), context: context)
            }
            break
        }
        // Reading may have produced records to send (session tickets are read, key updates answered).
        if network.outbound?.readableBytes ?? 0 > 0 {
            writeCiphertext(promise: nil, context: context)
            context.flush()
        }
        if produced { context.fireChannelReadComplete() }
    }

    private func encrypt(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        guard buffer.readableBytes > 0 else {
            context.write(wrapOutboundOut(buffer), promise: promise)
            return
        }
        ERR_clear_error()
        let written = buffer.withUnsafeReadableBytes { bytes in
            SSL_write(ssl, bytes.baseAddress, Int32(bytes.count))
        }
        guard written == buffer.readableBytes else {
            let failure = Failure.connection(OpenSSLLibrary.drainErrors())
            promise?.fail(failure)
            fail(failure, context: context)
            return
        }
        writeCiphertext(promise: promise, context: context)
    }

    /// Sends what OpenSSL wrote to the network BIO.
    private func writeCiphertext(promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        guard let out = network.outbound, out.readableBytes > 0 else {
            promise?.succeed()
            return
        }
        network.outbound = nil
        context.write(wrapOutboundOut(out), promise: promise)
    }

    private func fail(_ error: Error, context: ChannelHandlerContext) {
        guard state != .closed else { return }
        state = .closed
        writeCiphertext(promise: nil, context: context)  // the alert, if OpenSSL made one
        context.flush()
        failPendingWrites(error)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    private func failPendingWrites(_ error: Error) {
        let writes = pendingWrites
        pendingWrites = []
        for (_, promise) in writes { promise?.fail(error) }
    }
}
