import COpenSSL

/// Writes PKCS#12 files in one of three compatibility profiles, through the system OpenSSL 3.
public enum PFXWriter {
    /// A PFX holding `certificates` (leaf first, then its chain) and, if given, the leaf's `key`.
    /// `friendlyName` labels the certificate and key bags; the localKeyID ties them together.
    public static func write(
        certificates: [ParsedCertificate],
        key: PrivateKeyMaterial?,
        password: Password,
        profile: PFXProfile = .modern,
        friendlyName: String? = nil
    ) throws(PKIError) -> [UInt8] {
        guard let leafCertificate = certificates.first else {
            throw .invalidRequest("a PFX needs at least one certificate")
        }
        if let key, !key.matches(leafCertificate) {
            throw .invalidRequest("the private key does not belong to \(leafCertificate.displayName)")
        }
        if profile == .legacy, !OpenSSLLibrary.legacyProviderLoaded {
            throw .unsupportedInput("the legacy profile needs OpenSSL's legacy provider (RC2), which is not installed")
        }
        ERR_clear_error()
        let leaf = try OpenSSLLibrary.x509(leafCertificate)
        defer { X509_free(leaf) }
        guard let chain = trustgate_sk_X509_new_null() else { throw .creationFailed("out of memory") }
        defer { trustgate_sk_X509_pop_free(chain) }
        for certificate in certificates.dropFirst() {
            let entry = try OpenSSLLibrary.x509(certificate)
            guard trustgate_sk_X509_push(chain, entry) > 0 else {
                X509_free(entry)
                throw .creationFailed("out of memory")
            }
        }
        let pkey = try key.map { key throws(PKIError) in try OpenSSLLibrary.privateKey(key) }
        defer { if let pkey { EVP_PKEY_free(pkey) } }

        let (keyNID, certificateNID, macDigest): (Int32, Int32, OpaquePointer?) =
            switch profile {
            case .modern: (NID_aes_256_cbc, NID_aes_256_cbc, EVP_sha256())
            case .compat:
                (NID_pbe_WithSHA1And3_Key_TripleDES_CBC, NID_pbe_WithSHA1And3_Key_TripleDES_CBC, EVP_sha1())
            case .legacy: (NID_pbe_WithSHA1And3_Key_TripleDES_CBC, NID_pbe_WithSHA1And40BitRC2_CBC, EVP_sha1())
            }
        let created: OpaquePointer? = password.withCString { pass in
            // mac_iter -1: no MAC yet; PKCS12_set_mac below picks the digest, which PKCS12_create cannot.
            PKCS12_create(pass, friendlyName, pkey, leaf, chain, keyNID, certificateNID, profile.iterations, -1, 0)
        }
        guard let p12 = created else {
            throw .creationFailed("OpenSSL cannot build the PFX: \(OpenSSLLibrary.drainErrors())")
        }
        defer { PKCS12_free(p12) }
        let macStatus = password.withCString { pass in
            PKCS12_set_mac(p12, pass, Int32(password.bytes.count), nil, 0, profile.iterations, macDigest)
        }
        guard macStatus == 1 else {
            throw .creationFailed("OpenSSL cannot add the PFX MAC: \(OpenSSLLibrary.drainErrors())")
        }
        guard let bytes = OpenSSLLibrary.der({ i2d_PKCS12(p12, $0) }) else {
            throw .creationFailed("OpenSSL cannot encode the PFX: \(OpenSSLLibrary.drainErrors())")
        }
        return bytes
    }
}
