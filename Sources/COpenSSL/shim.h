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

#endif
