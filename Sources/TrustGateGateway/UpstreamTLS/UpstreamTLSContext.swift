import COpenSSL
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOTLS
import TrustGatePKI

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
