// The system OpenSSL 3 (libssl-dev), used only where the Swift packages lack something:
// PKCS#12 in every real-world profile (RC2-40, 3DES, PBES2/AES) with its legacy provider.
#ifndef TRUSTGATE_COPENSSL_SHIM_H
#define TRUSTGATE_COPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

// Stack helpers as real functions: OpenSSL defines them as macros over inline functions.
static inline STACK_OF(X509) *trustgate_sk_X509_new_null(void) { return sk_X509_new_null(); }
static inline int trustgate_sk_X509_push(STACK_OF(X509) *stack, X509 *cert) { return sk_X509_push(stack, cert); }
static inline int trustgate_sk_X509_num(const STACK_OF(X509) *stack) { return sk_X509_num(stack); }
static inline X509 *trustgate_sk_X509_value(const STACK_OF(X509) *stack, int index) { return sk_X509_value(stack, index); }
static inline void trustgate_sk_X509_pop_free(STACK_OF(X509) *stack) { sk_X509_pop_free(stack, X509_free); }

// SNI: a macro over SSL_ctrl in OpenSSL.
static inline long trustgate_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

// Upstream TLS of the gateway (memory BIOs, client session cache, asynchronous verification): macros in OpenSSL.
static inline int trustgate_SSL_set_retry_verify(SSL *ssl) { return SSL_set_retry_verify(ssl); }
static inline long trustgate_SSL_CTX_set_client_session_cache(SSL_CTX *ctx) {
    return SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
}
static inline int trustgate_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int trustgate_SSL_get_ex_new_index(void) { return SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL); }
static inline void trustgate_BIO_set_retry_read(BIO *bio) { BIO_set_retry_read(bio); }
static inline void trustgate_BIO_clear_retry_flags(BIO *bio) { BIO_clear_retry_flags(bio); }
// The largest Certificate message the upstream client reads (OpenSSL's default is 100 KiB).
static inline long trustgate_SSL_CTX_set_max_cert_list(SSL_CTX *ctx, long bytes) { return SSL_CTX_set_max_cert_list(ctx, bytes); }
// Whether the last OpenSSL error is a handshake message over its size limit.
static inline int trustgate_ERR_peek_is_excessive_message(void) {
    return ERR_GET_LIB(ERR_peek_error()) == ERR_LIB_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_EXCESSIVE_MESSAGE_SIZE;
}
// A backend may not renegotiate into another certificate after its chain was judged.
static inline void trustgate_SSL_CTX_disable_renegotiation(SSL_CTX *ctx) { SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION); }
static inline long trustgate_SSL_add1_chain_cert(SSL *ssl, X509 *cert) { return SSL_add1_chain_cert(ssl, cert); }

#endif
