import Crypto
import Foundation
import X509

/// Everything one trust decision depends on.
public struct TrustEvaluationRequest: Sendable {
    /// The chain as the peer sent it: leaf first.
    public var presented: [ParsedCertificate]
    /// The trust anchors.
    public var roots: TrustAnchors
    /// Extra untrusted certificates that may complete the path (`--intermediates`).
    public var intermediates: [ParsedCertificate]
    /// The expected server name, if any: a certificate for another name is rejected.
    public var identity: ServerIdentity?
    /// When the chain must be valid.
    public var time: Date
    /// The most intermediates a path may have between leaf and root.
    public var maximumIntermediates: Int
    /// serverAuth or clientAuth.
    public var purpose: CertificatePurpose
    /// A further check every path must pass (an allow-list's pins, say).
    public var additionalPolicy: AdditionalPolicy?
    /// How strictly paths are judged.
    public var profile: VerificationProfile

    public init(
        presented: [ParsedCertificate],
        roots: TrustAnchors,
        intermediates: [ParsedCertificate] = [],
        identity: ServerIdentity? = nil,
        time: Date = Date(),
        maximumIntermediates: Int = 8,
        purpose: CertificatePurpose = .server,
        additionalPolicy: AdditionalPolicy? = nil,
        profile: VerificationProfile = .strict
    ) {
        self.presented = presented
        self.roots = roots
        self.intermediates = intermediates
        self.identity = identity
        self.time = time
        self.maximumIntermediates = maximumIntermediates
        self.purpose = purpose
        self.additionalPolicy = additionalPolicy
        self.profile = profile
    }
}

/// A check added to the evaluator's own, for layers above PKI (the allow-list's SPKI pins): given a path that
/// passed path building, the problem it has, if any.
public struct AdditionalPolicy: Sendable {
    /// What distinguishes this policy's configuration from another's, for the verdict cache.
    public let identity: [UInt8]
    let check: @Sendable ([ParsedCertificate]) -> TrustProblem?

    public init(identity: [UInt8], check: @escaping @Sendable ([ParsedCertificate]) -> TrustProblem?) {
        self.identity = identity
        self.check = check
    }
}

/// A set of trusted root certificates, and whether they are the system's well-known CAs (which changes how an
/// untrusted root is reported: `not-well-known-ca`).
public struct TrustAnchors: Sendable {
    public let certificates: [ParsedCertificate]
    public let isWellKnownStore: Bool
    /// SHA-256 over the sorted fingerprints: two anchor sets with the same certificates have the same identity.
    public let identity: [UInt8]
    /// Every notBefore and notAfter of the anchors, sorted: a cached verdict is reused only between two of them.
    let validityBoundaries: [Date]
    private let bySubject: [String: [ParsedCertificate]]
    private let digests: Set<[UInt8]>

    public init(_ certificates: [ParsedCertificate], isWellKnownStore: Bool = false) {
        self.certificates = certificates
        self.isWellKnownStore = isWellKnownStore
        bySubject = Dictionary(grouping: certificates, by: { $0.subject.description })
        digests = Set(certificates.map(\.sha256))
        var hasher = SHA256()
        for digest in certificates.map(\.sha256).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            hasher.update(data: digest)
        }
        hasher.update(data: [isWellKnownStore ? 1 : 0])
        identity = Array(hasher.finalize())
        validityBoundaries = certificates.flatMap { [$0.notBefore, $0.notAfter] }.sorted()
    }

    /// The trusted certificates with this subject.
    func withSubject(_ subject: String) -> [ParsedCertificate] { bySubject[subject] ?? [] }

    /// Whether this exact certificate is trusted.
    public func contains(_ certificate: ParsedCertificate) -> Bool { digests.contains(certificate.sha256) }

    /// The gateway's `well-known-ca` trust: `$SSL_CERT_FILE` when set (as OpenSSL reads it), else the
    /// Debian/Ubuntu bundle of the `ca-certificates` package.
    public static var systemBundlePath: String {
        ProcessInfo.processInfo.environment["SSL_CERT_FILE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "/etc/ssl/certs/ca-certificates.crt"
    }

    /// Loads the system's well-known CAs.
    public static func system(path: String = systemBundlePath) throws(PKIError) -> TrustAnchors {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unsupportedInput(
                "the system trust store \(path) cannot be read", hint: "install the ca-certificates package"
            )
        }
        return TrustAnchors(try bundle(Array(data)).certificates, isWellKnownStore: true)
    }

    /// The certificates of a PEM bundle of trust anchors (`ca-certificates.crt`, `--roots`), and why those that are
    /// left out were: a CA that does not parse as strict DER (two roots of Debian's bundle carry a keyUsage with
    /// non-zero padding bits) or whose key the crypto library cannot use is skipped, as OpenSSL's trust store
    /// loading skips what it cannot use, and never trusted.
    public static func bundle(_ bytes: [UInt8]) throws(PKIError) -> (certificates: [ParsedCertificate], skipped: [String]) {
        var certificates: [ParsedCertificate] = []
        var skipped: [String] = []
        var index = 0
        for block in try PEMBlock.blocks(in: String(decoding: bytes, as: UTF8.self)) where block.label == "CERTIFICATE" {
            index += 1
            do {
                let certificate = try ParsedCertificate(der: block.der)
                guard certificate.x509 != nil else {
                    skipped.append("certificate \(index) (\(certificate.subject)): \(certificate.unusableReason ?? "unusable")")
                    continue
                }
                certificates.append(certificate)
            } catch {
                skipped.append("certificate \(index): \(error.reason)")
            }
        }
        return (certificates, skipped)
    }
}
