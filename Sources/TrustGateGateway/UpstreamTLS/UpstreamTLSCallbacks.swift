import COpenSSL
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOTLS
import TrustGatePKI

/// OpenSSL's certificate verification step, replaced: the first call hands the presented chain to the handler
/// and parks the handshake; the second answers with the allow-list's verdict.
func upstreamVerifyCallback(_ store: OpaquePointer?, _: UnsafeMutableRawPointer?) -> Int32 {
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
func upstreamNewSessionCallback(_ ssl: OpaquePointer?, _ session: OpaquePointer?) -> Int32 {
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
func upstreamMessageCallback(
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
