import COpenSSL
import Crypto

/// Reads PKCS#12 files as OpenSSL, Windows, macOS, Java and GnuTLS write them, through the system OpenSSL 3:
/// PBES2/AES, 3DES, RC2-40 (with the legacy provider, loaded only for such files), empty and absent passwords,
/// certificate-only files, and certificates in any order.
public enum PFXReader {
    /// The most KDF iterations a file may ask for: 3 times GnuTLS' 600,000, the highest any tool writes. A
    /// corrupted or hostile count would otherwise keep the process busy for minutes.
    public static let maximumIterations = 2_000_000

    /// Decrypts `der`. With `password` nil, an empty and an absent password are tried (and
    /// `passwordRequired` thrown if neither opens the file); with a password, a MAC that does not verify is
    /// `wrongPassword`.
    /// `tolerant`: a certificate or key that cannot be used is listed in the bundle's `unreadable` instead.
    public static func read(_ der: [UInt8], password: Password?, tolerant: Bool = false) throws(PKIError)
        -> CertificateBundle
    {
        let report = try PFXContainerReport(der: der)
        let iterations = report.bags.compactMap(\.iterations) + (report.mac.map { [$0.iterations] } ?? [])
        guard iterations.allSatisfy({ (1...maximumIterations).contains($0) }) else {
            throw .malformedInput(
                "the PFX asks for an unreasonable key-derivation iteration count (over \(maximumIterations))"
            )
        }
        if report.needsLegacyProvider, !OpenSSLLibrary.legacyProviderLoaded {
            throw .unsupportedInput(
                "this PFX uses RC2/RC4, which needs OpenSSL's legacy provider, and it is not installed",
                hint: "install the OpenSSL 3 legacy module (libssl3 on Debian), or re-export the file with 3DES or AES"
            )
        }
        ERR_clear_error()
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_PKCS12(nil, &cursor, buffer.count)
        }
        guard let p12 = parsed else {
            throw .malformedInput("not a valid PKCS#12 (PFX) file: \(OpenSSLLibrary.drainErrors())")
        }
        defer { PKCS12_free(p12) }

        let effective = try verifyMAC(p12, password: password)
        var key: OpaquePointer?
        var leaf: OpaquePointer?
        var others: OpaquePointer?
        let status = effective.withCString { PKCS12_parse(p12, $0, &key, &leaf, &others) }
        defer {
            if let key { EVP_PKEY_free(key) }
            if let leaf { X509_free(leaf) }
            if let others { trustgate_sk_X509_pop_free(others) }
        }
        guard status == 1 else {
            throw .malformedInput(
                "cannot decrypt the PFX (wrong password, or an algorithm OpenSSL cannot use): "
                    + OpenSSLLibrary.drainErrors()
            )
        }

        var unreadable: [UnreadablePart] = []
        var firstError: PKIError?
        func note(_ error: PKIError, _ part: UnreadablePart) throws(PKIError) {
            guard tolerant else { throw error }
            if firstError == nil { firstError = error }
            unreadable.append(part)
        }
        var x509s: [OpaquePointer] = leaf.map { [$0] } ?? []
        if let others {
            for index in 0..<trustgate_sk_X509_num(others) {
                if let entry = trustgate_sk_X509_value(others, index) { x509s.append(entry) }
            }
        }
        var certificates: [ParsedCertificate] = []
        for (index, x509) in x509s.enumerated() {
            do {
                certificates.append(try certificate(x509))
            } catch {
                let der = OpenSSLLibrary.der { i2d_X509(x509, $0) }
                try note(error, UnreadablePart(
                    kind: .certificate, position: index + 1, label: "PKCS#12 certificate", reason: error.reason,
                    sha256: der.map { Array(SHA256.hash(data: $0)).hexString }))
            }
        }
        var keys: [PrivateKeyMaterial] = []
        if let key {
            guard let info = EVP_PKEY2PKCS8(key) else {
                throw .unsupportedInput("the PFX's private key cannot be exported: \(OpenSSLLibrary.drainErrors())")
            }
            defer { PKCS8_PRIV_KEY_INFO_free(info) }
            guard let pkcs8 = OpenSSLLibrary.der({ i2d_PKCS8_PRIV_KEY_INFO(info, $0) }) else {
                throw .malformedInput("the PFX's private key cannot be encoded: \(OpenSSLLibrary.drainErrors())")
            }
            do {
                keys.append(try PrivateKeyMaterial(pkcs8DER: pkcs8))
            } catch {
                try note(error, UnreadablePart(
                    kind: .privateKey, position: 1, label: "PKCS#12 private key", reason: error.reason,
                    key: (try? PKCS8Fields(der: pkcs8))?.keyDescription))
            }
        }
        guard !certificates.isEmpty || !keys.isEmpty || !unreadable.isEmpty else {
            throw .malformedInput("the PFX holds neither a certificate nor a key")
        }
        // Tolerant reading still refuses a file of which nothing could be read or described.
        if certificates.isEmpty, keys.isEmpty, !unreadable.contains(where: { $0.key != nil }), let firstError {
            throw firstError
        }
        var bundle = CertificateBundle(format: .pkcs12, certificates: ordered(certificates, key: keys.first),
                                       privateKeys: keys)
        bundle.pfx = report
        bundle.unreadable = unreadable
        return bundle
    }

    /// The password that opens the file (given, empty, or absent), or the error saying why none does.
    private static func verifyMAC(_ p12: OpaquePointer, password: Password?) throws(PKIError) -> Password {
        guard PKCS12_mac_present(p12) == 1 else {
            // No integrity MAC (`openssl pkcs12 -nomac`): OpenSSL's parser insists on one, so add it in memory
            // with the password the bags will be decrypted with; a wrong password then fails at decryption.
            let effective = password ?? Password("")
            _ = effective.withCString { PKCS12_set_mac(p12, $0, Int32(effective.bytes.count), nil, 0, 1, nil) }
            return effective
        }
        if let password {
            let ok = password.withCString { PKCS12_verify_mac(p12, $0, Int32(password.bytes.count)) } == 1
            guard ok else {
                _ = OpenSSLLibrary.drainErrors()
                throw PKIError(
                    code: .wrongPassword, reason: "wrong password or corrupted file (MAC verification failed)",
                    hint: "a trailing newline in a password file is not part of the password", file: nil
                )
            }
            return password
        }
        if PKCS12_verify_mac(p12, nil, 0) == 1 || PKCS12_verify_mac(p12, "", 0) == 1 {
            _ = OpenSSLLibrary.drainErrors()
            return Password("")
        }
        _ = OpenSSLLibrary.drainErrors()
        throw PKIError(
            code: .passwordRequired, reason: "the PFX is password-protected and no password was given",
            hint: "pass --password-file FILE, --password-env VAR or --password-fd N", file: nil
        )
    }

    private static func certificate(_ x509: OpaquePointer) throws(PKIError) -> ParsedCertificate {
        guard let der = OpenSSLLibrary.der({ i2d_X509(x509, $0) }) else {
            throw .malformedInput("a certificate in the PFX cannot be encoded: \(OpenSSLLibrary.drainErrors())")
        }
        return try ParsedCertificate(der: der)
    }

    /// The key's certificate first, then its chain upward, then anything else in file order.
    static func ordered(_ certificates: [ParsedCertificate], key: PrivateKeyMaterial?) -> [ParsedCertificate] {
        var remaining = certificates
        var result: [ParsedCertificate] = []
        if let key, let index = remaining.firstIndex(where: { key.matches($0) }) {
            result.append(remaining.remove(at: index))
        } else if let leaf = ChainAnalysis.leaf(of: remaining), let index = remaining.firstIndex(of: leaf) {
            result.append(remaining.remove(at: index))
        }
        while let last = result.last, let index = remaining.firstIndex(where: { ChainAnalysis.issued(last, by: $0) }) {
            result.append(remaining.remove(at: index))
        }
        return result + remaining
    }
}
