import COpenSSL

/// The system OpenSSL 3: its error queue and its legacy provider.
package enum OpenSSLLibrary {
    /// Loads OpenSSL's legacy provider (RC2, RC4, single DES) next to the default one, once per process, and only
    /// when a file needs it. Returns whether both are available.
    static let legacyProviderLoaded: Bool = {
        // Loading any provider explicitly stops the default one from loading implicitly: load both.
        OSSL_PROVIDER_load(nil, "default") != nil && OSSL_PROVIDER_load(nil, "legacy") != nil
    }()

    /// Empties the thread's error queue and returns its messages, newest last.
    package static func drainErrors() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            guard code != 0 else { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let text = String(decoding: buffer.prefix(while: { $0 != 0 }).map(UInt8.init(bitPattern:)), as: UTF8.self)
            messages.append(text)
        }
        return messages.isEmpty ? "unknown OpenSSL error" : messages.joined(separator: "; ")
    }

    /// The DER of an OpenSSL object through its `i2d_` function.
    package static func der(_ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32) -> [UInt8]? {
        let length = encode(nil)
        guard length > 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return encode(&cursor)
        }
        return written == length ? bytes : nil
    }

    /// `certificate` as an OpenSSL `X509` (the caller frees it with `X509_free`).
    package static func x509(_ certificate: ParsedCertificate) throws(PKIError) -> OpaquePointer {
        let parsed: OpaquePointer? = certificate.der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
        guard let parsed else {
            throw .creationFailed("OpenSSL cannot read \(certificate.displayName): \(drainErrors())")
        }
        return parsed
    }

    /// `key` as an OpenSSL `EVP_PKEY` (the caller frees it with `EVP_PKEY_free`).
    package static func privateKey(_ key: PrivateKeyMaterial) throws(PKIError) -> OpaquePointer {
        let der = try key.pkcs8DER()
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_AutoPrivateKey(nil, &cursor, buffer.count)
        }
        guard let parsed else { throw .creationFailed("OpenSSL cannot read the key: \(drainErrors())") }
        return parsed
    }
}
