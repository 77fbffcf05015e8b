import Foundation
import TrustGatePKI

/// Turns a certificate file into an allow-list entry, refusing (with a reason and a hint) what a gateway must
/// not be given: a private key, a leaf as a trusted root, an intermediate as a trusted root, an expired
/// certificate.
public struct EntryRegistration: Sendable {
    public var gateway: String
    public var name: String?
    /// `nil`: detected (a self-signed CA is a trusted root, anything else is pinned).
    public var kind: EntryKind?
    public var allowExpired: Bool
    public var expiresAt: Date?
    /// A staged next key, `sha256/<base64>` or hex.
    public var nextPin: String?

    public init(
        gateway: String, name: String? = nil, kind: EntryKind? = nil, allowExpired: Bool = false,
        expiresAt: Date? = nil, nextPin: String? = nil
    ) {
        self.gateway = gateway
        self.name = name
        self.kind = kind
        self.allowExpired = allowExpired
        self.expiresAt = expiresAt
        self.nextPin = nextPin
    }

    /// The entry for `bundle` (read from `file`), or a refusal.
    public func entry(from bundle: CertificateBundle, file: String, actor: String, now: Date = Date())
        throws(AllowListError) -> AllowListEntry
    {
        guard Self.isValidGatewayName(gateway) else {
            throw .refused("'\(gateway)' is not a gateway name (letters, digits, '.', '_' and '-', at most 64)")
        }
        if !bundle.privateKeys.isEmpty {
            let hint =
                bundle.certificates.isEmpty
                ? "pass the certificate file (.pem, .cer, .crt), not its key"
                : "make one with: trustgate cert export \(file) --cer \(Self.cerName(for: file))"
            throw .refused("the file holds a private key: a gateway needs only the public certificate", hint: hint,
                           file: file)
        }
        guard let leaf = ChainAnalysis.leaf(of: bundle.certificates) else {
            throw .refused("the file holds no certificate", file: file)
        }
        let root = bundle.certificates.first { $0.isSelfIssued && $0.isCA }
        let kind = self.kind ?? ((leaf.isSelfIssued && leaf.isCA) ? .trustedRoot : .pinned)
        let certificate: ParsedCertificate
        switch kind {
        case .trustedRoot:
            if let root {
                certificate = root
            } else if leaf.isCA {
                throw .refused(
                    "\(leaf.subject) is an intermediate CA, not a root: a trusted root must be self-signed",
                    hint: "register the root it chains to; `trustgate cert root FILE` extracts it from a full chain",
                    file: file
                )
            } else {
                throw .refused(
                    "\(leaf.subject) is a leaf certificate, not a CA: it cannot be a trusted root",
                    hint: "register it with --as pinned, or register the root CA that issued it", file: file
                )
            }
        case .pinned, .spkiPin:
            certificate = leaf
        }
        if now > certificate.notAfter, !allowExpired {
            throw .refused(
                "\(certificate.subject) expired at \(RFC3339.format(certificate.notAfter))",
                hint: "pass --allow-expired to register it anyway", file: file
            )
        }
        var next: String?
        if let nextPin {
            guard let hex = Self.pinHex(nextPin) else {
                throw .refused("--next-pin \(nextPin) is not a sha256/<base64> or hex SHA-256 pin")
            }
            next = hex
        }
        let name = self.name ?? certificate.displayName
        guard !name.isEmpty, name.count <= 200 else { throw .refused("an entry name must be 1 to 200 characters") }
        return AllowListEntry(
            gateway: gateway, name: name, kind: kind, subject: certificate.subject.description,
            certificateSHA256: certificate.sha256.hexString, spkiSHA256: certificate.spkiSHA256.hexString,
            nextSPKISHA256: next, certificatePEM: certificate.pem, certificateNotAfter: certificate.notAfter,
            expiresAt: expiresAt, addedBy: actor, addedAt: now
        )
    }

    /// Gateway names: what fits in a config key, a metric label and a file name.
    public static func isValidGatewayName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0) }
            && name.unicodeScalars.allSatisfy(\.isASCII)
    }

    /// A pin as lower-case hex: from `sha256/<base64>` or 64 hex digits.
    public static func pinHex(_ pin: String) -> String? {
        if pin.hasPrefix("sha256/"), let data = Data(base64Encoded: String(pin.dropFirst(7))), data.count == 32 {
            return Array(data).hexString
        }
        if pin.count == 64, let data = Data(hexString: pin) { return Array(data).hexString }
        return nil
    }

    private static func cerName(for file: String) -> String {
        let url = URL(fileURLWithPath: file)
        return url.deletingPathExtension().lastPathComponent + ".cer"
    }
}
