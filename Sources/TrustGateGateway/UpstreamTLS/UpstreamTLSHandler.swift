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
        if pendingFlush || !writes.isEmpty {
            pendingFlush = false
            context.flush()
        }
        decryptAvailable(context: context)
    }

    /// The verification callback parked the handshake with what the backend presented: judge it off the event
    /// loop (parsing included: a hostile chain costs the event loop nothing).
    private func verify(context: ChannelHandlerContext) {
        state = .verifying
        let evidence = slot.evidence
        let judge = self.judge
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let promise = context.eventLoop.makePromise(of: Judgement.self)
        promise.completeWithTask { await judge(evidence) }
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

/// What the verification callback and the session callback share with the handler, reached through the SSL's
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

/// The shared client `SSL_CTX` of the upstream connections (TLS 1.2 minimum, OpenSSL's default suites and
/// groups, verification by the allow-list through ``UpstreamTLSHandler``) and its session cache.
final class UpstreamTLSContext: @unchecked Sendable {
    // An SSL_CTX is safe to share between threads once set up; only SSL objects are per connection.
    let pointer: OpaquePointer
    let sessions = UpstreamSessionCache()

    static let slotIndex: Int32 = trustgate_SSL_get_ex_new_index()
    /// The largest Certificate message OpenSSL reads from a backend: 32 KiB (real chains are 2 to 10 KiB; at
    /// 100 KiB, OpenSSL's default, parsing a message of minimal certificates costs 80 ms or more of CPU).
    static let maximumCertificateList = 32_768
    /// The largest Certificate message kept (with the message's own framing).
    static let maximumCertificateMessage = maximumCertificateList + 4_096

    init() throws {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw UpstreamTLSHandler.Failure.handshake("OpenSSL: \(OpenSSLLibrary.drainErrors())")
        }
        _ = trustgate_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION)
        trustgate_SSL_CTX_disable_renegotiation(context)
        // OpenSSL 3 decodes every certificate of the message before any callback sees it, about 0.2 ms each:
        // the message is capped so that no backend can make a handshake cost more than a few tens of ms.
        _ = trustgate_SSL_CTX_set_max_cert_list(context, Self.maximumCertificateList)
        // TLS 1.3 suites in BoringSSL's and the browsers' order: AES-128-GCM first (a third cheaper per byte than
        // AES-256-GCM with AES-NI, and as strong for this use), ChaCha20 for machines without AES instructions.
        _ = SSL_CTX_set_ciphersuites(context, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256")
        // Verification is the allow-list's: the callback below replaces OpenSSL's chain building entirely.
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        SSL_CTX_set_cert_verify_callback(context, upstreamVerifyCallback, nil)
        // The judged chain is the Certificate message as it arrived, not OpenSSL's re-encoding of it.
        SSL_CTX_set_msg_callback(context, upstreamMessageCallback)
        _ = trustgate_SSL_CTX_set_client_session_cache(context)
        SSL_CTX_sess_set_new_cb(context, upstreamNewSessionCallback)
        pointer = context
    }

    deinit {
        SSL_CTX_free(pointer)
    }
}

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

/// OpenSSL's certificate verification step, replaced: the first call hands the presented chain to the handler
/// and parks the handshake; the second answers with the allow-list's verdict.
private func upstreamVerifyCallback(_ store: OpaquePointer?, _: UnsafeMutableRawPointer?) -> Int32 {
    guard let store,
        let ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()),
        let raw = SSL_get_ex_data(OpaquePointer(ssl), UpstreamTLSContext.slotIndex)
    else { return 0 }
    let slot = Unmanaged<VerificationSlot>.fromOpaque(raw).takeUnretainedValue()
    switch slot.decision {
    case .allowed:
        return 1
    case .denied:
        X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION)
        return 0
    case .undecided:
        // The certificate whose key OpenSSL verifies the handshake signature with, and the chain as sent.
        let leaf = X509_STORE_CTX_get0_cert(store).flatMap { certificate in OpenSSLLibrary.der({ i2d_X509(certificate, $0) }) }
        let tls13 = SSL_version(OpaquePointer(ssl)) == TLS1_3_VERSION
        if let message = slot.certificateMessage {
            if let certificates = TLSCertificateMessage.certificates(message, tls13: tls13) {
                slot.evidence = PresentedEvidence(certificates: certificates, handshakeLeaf: leaf, problem: nil)
            } else {
                slot.evidence = PresentedEvidence(
                    certificates: nil, handshakeLeaf: leaf, problem: "the Certificate message cannot be read"
                )
            }
        } else {
            slot.evidence = PresentedEvidence(
                certificates: nil, handshakeLeaf: leaf,
                problem: "the Certificate message was over \(UpstreamTLSContext.maximumCertificateMessage) bytes or not seen"
            )
        }
        // OpenSSL suspends the handshake when the callback succeeds after SSL_set_retry_verify
        // (SSL_ERROR_WANT_RETRY_VERIFY) and calls it again once the handshake is resumed.
        return trustgate_SSL_set_retry_verify(OpaquePointer(ssl)) == 1 ? 1 : 0
    }
}

/// A session (ticket) arrived: keep it, with what its handshake was judged to be. Returns 1: the cache owns it.
private func upstreamNewSessionCallback(_ ssl: OpaquePointer?, _ session: OpaquePointer?) -> Int32 {
    guard let ssl, let session, let raw = SSL_get_ex_data(ssl, UpstreamTLSContext.slotIndex) else { return 0 }
    let slot = Unmanaged<VerificationSlot>.fromOpaque(raw).takeUnretainedValue()
    guard let established = slot.established ?? (slot.decision == .allowed ? (slot.presented, slot.admission) : nil),
        let admission = established.admission
    else { return 0 }
    slot.sessions.store(
        UpstreamSessionCache.Entry(session: session, presented: established.presented, admission: admission),
        for: slot.sessionKey
    )
    return 1
}

/// Every handshake message: the server's first `Certificate` message is kept, byte for byte, for the verification
/// callback. Messages longer than a presented chain may be are not kept (the chain is then refused).
private func upstreamMessageCallback(
    _ writing: Int32, _: Int32, _ contentType: Int32, _ buffer: UnsafeRawPointer?, _ length: Int,
    _ ssl: OpaquePointer?, _: UnsafeMutableRawPointer?
) {
    guard writing == 0, contentType == SSL3_RT_HANDSHAKE, let buffer, length > 0, let ssl,
        buffer.load(as: UInt8.self) == TLSCertificateMessage.handshakeType,
        let raw = SSL_get_ex_data(ssl, UpstreamTLSContext.slotIndex)
    else { return }
    let slot = Unmanaged<VerificationSlot>.fromOpaque(raw).takeUnretainedValue()
    guard slot.certificateMessage == nil, slot.decision == .undecided,
        length <= UpstreamTLSContext.maximumCertificateMessage
    else { return }
    slot.certificateMessage = Array(UnsafeRawBufferPointer(start: buffer, count: length))
}

/// The network side of an upstream TLS connection as an OpenSSL BIO over NIO buffers: OpenSSL reads the ciphertext
/// straight from the buffer the channel read (no copy into a memory BIO) and writes into the buffer the channel
/// sends. Used on the channel's event loop only.
final class NetworkBIO {
    var inbound: ByteBuffer?
    var outbound: ByteBuffer?
    private let allocator = ByteBufferAllocator()

    // Set up once and never changed afterwards: OpenSSL only reads a BIO_METHOD.
    nonisolated(unsafe) static let method: OpaquePointer? = {
        guard let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "trustgate-nio") else { return nil }
        BIO_meth_set_read(method, networkBIORead)
        BIO_meth_set_write(method, networkBIOWrite)
        BIO_meth_set_ctrl(method, networkBIOControl)
        BIO_meth_set_create(method, { bio in
            BIO_set_init(bio, 1)
            return 1
        })
        BIO_meth_set_destroy(method, { _ in 1 })
        return method
    }()

    fileprivate func read(into destination: UnsafeMutableRawPointer, count: Int) -> Int {
        guard var buffer = inbound, buffer.readableBytes > 0 else { return 0 }
        let length = min(count, buffer.readableBytes)
        buffer.withUnsafeReadableBytes { bytes in
            if let base = bytes.baseAddress { destination.copyMemory(from: base, byteCount: length) }
        }
        buffer.moveReaderIndex(forwardBy: length)
        inbound = buffer.readableBytes > 0 ? buffer : nil
        return length
    }

    fileprivate func write(_ source: UnsafeRawBufferPointer) {
        if outbound == nil { outbound = allocator.buffer(capacity: max(source.count, 16_640)) }
        outbound?.writeBytes(source)
    }
}

private func networkBIO(_ bio: OpaquePointer?) -> NetworkBIO? {
    guard let bio, let raw = BIO_get_data(bio) else { return nil }
    return Unmanaged<NetworkBIO>.fromOpaque(raw).takeUnretainedValue()
}

private func networkBIORead(_ bio: OpaquePointer?, _ destination: UnsafeMutablePointer<CChar>?, _ count: Int32) -> Int32 {
    guard let bio, let destination, count > 0, let network = networkBIO(bio) else { return -1 }
    trustgate_BIO_clear_retry_flags(bio)
    let read = network.read(into: UnsafeMutableRawPointer(destination), count: Int(count))
    guard read > 0 else {
        trustgate_BIO_set_retry_read(bio)
        return -1
    }
    return Int32(read)
}

private func networkBIOWrite(_ bio: OpaquePointer?, _ source: UnsafePointer<CChar>?, _ count: Int32) -> Int32 {
    guard let bio, let source, count >= 0, let network = networkBIO(bio) else { return -1 }
    trustgate_BIO_clear_retry_flags(bio)
    network.write(UnsafeRawBufferPointer(start: UnsafeRawPointer(source), count: Int(count)))
    return count
}

private func networkBIOControl(_ bio: OpaquePointer?, _ command: Int32, _: Int, _: UnsafeMutableRawPointer?) -> Int {
    switch command {
    case BIO_CTRL_FLUSH:
        return 1
    case BIO_CTRL_PENDING:
        return networkBIO(bio)?.inbound?.readableBytes ?? 0
    case BIO_CTRL_WPENDING:
        return networkBIO(bio)?.outbound?.readableBytes ?? 0
    default:
        return 0
    }
}

/// A client certificate chain and key as OpenSSL objects, presented to backends that ask for one (mutual TLS
/// upstream). Immutable once made; OpenSSL counts the references each connection takes.
final class UpstreamClientIdentity: @unchecked Sendable {
    private let certificates: [OpaquePointer]
    private let key: OpaquePointer

    init(bundle: CertificateBundle, key material: PrivateKeyMaterial) throws(PKIError) {
        var certificates: [OpaquePointer] = []
        do throws(PKIError) {
            for certificate in bundle.certificates { certificates.append(try OpenSSLLibrary.x509(certificate)) }
            guard !certificates.isEmpty else { throw .invalidRequest("a client certificate file holds no certificate") }
            key = try OpenSSLLibrary.privateKey(material)
        } catch {
            for certificate in certificates { X509_free(certificate) }
            throw error
        }
        self.certificates = certificates
    }

    deinit {
        for certificate in certificates { X509_free(certificate) }
        EVP_PKEY_free(key)
    }

    /// Makes `ssl` present this identity when the backend asks.
    func apply(to ssl: OpaquePointer) -> Bool {
        guard SSL_use_certificate(ssl, certificates[0]) == 1, SSL_use_PrivateKey(ssl, key) == 1 else { return false }
        return certificates.dropFirst().allSatisfy { trustgate_SSL_add1_chain_cert(ssl, $0) == 1 }
    }
}
