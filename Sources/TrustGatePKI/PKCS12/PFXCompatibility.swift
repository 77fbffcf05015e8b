/// Which common platforms open a PKCS#12 file, by each platform's documented algorithm support.
///
/// The rules (what each platform's PKCS#12 import accepts):
/// - OpenSSL 3 (default provider): everything but RC2 and RC4 (`error:0308010C … unsupported` without `-legacy`).
/// - OpenSSL 3 with the legacy provider: every algorithm here.
/// - Java 8 before 8u301: the PKCS#12 PBE algorithms (3DES, RC2) with an HMAC-SHA1 MAC; no PBES2 (JDK-8153005,
///   added in 8u301 and 11.0.12).
/// - Java 8u301+ and 11+: also PBES2 with AES and HMAC-SHA256/384/512 MACs.
/// - Windows Server 2016 (and Windows 10 before 1709): 3DES or RC2 with a SHA-1 MAC; AES-encrypted files fail
///   with "the password you entered is incorrect".
/// - Windows Server 2019+: also PBES2 AES-256 with hmacWithSHA256 and a SHA-256 MAC (the "AES256-SHA256"
///   option of `Export-PfxCertificate`).
/// - macOS Keychain (`security import`, macOS 14 and earlier): 3DES or RC2 with a SHA-1 MAC; no PBES2.
public struct PFXCompatibility: Codable, Hashable, Sendable {
    public var openssl3: Bool
    public var openssl3Legacy: Bool
    public var java8Before301: Bool
    public var java8u301AndJava11: Bool
    public var windowsServer2016: Bool
    public var windowsServer2019: Bool
    public var macOSKeychain: Bool

    /// The display names, in the order of the fields.
    public static let platformNames = [
        "OpenSSL 3 (default provider)", "OpenSSL 3 (legacy provider)", "Java 8 before 8u301",
        "Java 8u301+ / 11+", "Windows Server 2016", "Windows Server 2019+", "macOS Keychain (14 and earlier)",
    ]

    public init(_ report: PFXContainerReport) {
        let pkcs12PBEOnly = report.bags.allSatisfy { ["none", "3DES", "RC2-40", "RC2-128", "2-key 3DES"].contains($0.cipher) }
        let sha1MAC = report.mac.map { $0.algorithm == "SHA-1" } ?? true
        let known = report.bags.allSatisfy { bag in
            ["none", "3DES", "2-key 3DES", "RC2-40", "RC2-128", "RC4-40", "RC4-128", "AES-128-CBC", "AES-192-CBC",
             "AES-256-CBC"].contains(bag.cipher)
        }
        let modernPBES2 = report.bags.allSatisfy { bag in
            bag.encryption != "PBES2" || (bag.cipher == "AES-256-CBC" && bag.prf == "hmacWithSHA256")
        }
        let usesRC4 = report.bags.contains { $0.cipher.hasPrefix("RC4") }
        openssl3 = known && !report.needsLegacyProvider
        openssl3Legacy = known
        java8Before301 = known && pkcs12PBEOnly && sha1MAC && !usesRC4
        java8u301AndJava11 = known && !usesRC4
        windowsServer2016 = known && pkcs12PBEOnly && sha1MAC
        windowsServer2019 = known && modernPBES2 && (report.mac.map { ["SHA-1", "SHA-256"].contains($0.algorithm) } ?? true)
        macOSKeychain = known && pkcs12PBEOnly && sha1MAC && !usesRC4
    }

    /// The platforms paired with whether each opens the file.
    public var platforms: [(name: String, opens: Bool)] {
        zip(Self.platformNames, [
            openssl3, openssl3Legacy, java8Before301, java8u301AndJava11, windowsServer2016, windowsServer2019,
            macOSKeychain,
        ]).map { ($0, $1) }
    }
}
