import COpenSSL
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOTLS
import TrustGatePKI

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
