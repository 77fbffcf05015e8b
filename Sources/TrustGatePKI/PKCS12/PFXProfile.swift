/// How a PKCS#12 file is protected, chosen for who must open it.
public enum PFXProfile: String, CaseIterable, Sendable, Codable {
    /// PBES2 with AES-256-CBC and PBKDF2-HMAC-SHA256 for key and certificates, HMAC-SHA256 MAC: OpenSSL 3's
    /// default, Java 8u301+/11+, Windows Server 2019+.
    case modern
    /// PBE-SHA1-3DES for key and certificates, HMAC-SHA1 MAC: also opens in Java before 8u301, Windows Server
    /// 2016 and older macOS, and in OpenSSL 3 without its legacy provider.
    case compat
    /// RC2-40 for certificates, 3DES for the key, HMAC-SHA1 MAC: the pre-2020 default of OpenSSL, Windows and
    /// macOS. Written only on request: RC2-40 protects nothing, and OpenSSL 3 needs `-legacy` to read it.
    case legacy

    /// PBKDF2 or PKCS#12 KDF iterations: Java's and Windows' current values for `modern`, OpenSSL's default
    /// (2048) for the others.
    var iterations: Int32 {
        switch self {
        case .modern: return 10_000
        case .compat, .legacy: return 2048
        }
    }
}
