import Foundation
import TrustGatePKI

/// One entry of a gateway's allow-list.
public struct AllowListEntry: Hashable, Sendable, Codable {
    public var gateway: String
    /// The label, unique within the gateway.
    public var name: String
    public var kind: EntryKind
    /// The certificate's subject (RFC 4514), when the entry came from a certificate.
    public var subject: String?
    /// Lower-case hex SHA-256 of the certificate, when the entry came from a certificate.
    public var certificateSHA256: String?
    /// Lower-case hex SHA-256 of the SubjectPublicKeyInfo.
    public var spkiSHA256: String
    /// A staged next key (hex SPKI SHA-256), accepted alongside the current one so a rotation needs no outage.
    public var nextSPKISHA256: String?
    /// The certificate, PEM, when the entry came from a certificate.
    public var certificatePEM: String?
    /// The certificate's notAfter.
    public var certificateNotAfter: Date?
    /// When the entry itself stops counting, if it was given an expiry.
    public var expiresAt: Date?
    public var addedBy: String
    public var addedAt: Date

    public init(
        gateway: String, name: String, kind: EntryKind, subject: String?, certificateSHA256: String?,
        spkiSHA256: String, nextSPKISHA256: String? = nil, certificatePEM: String?, certificateNotAfter: Date?,
        expiresAt: Date? = nil, addedBy: String, addedAt: Date
    ) {
        self.gateway = gateway
        self.name = name
        self.kind = kind
        self.subject = subject
        self.certificateSHA256 = certificateSHA256
        self.spkiSHA256 = spkiSHA256
        self.nextSPKISHA256 = nextSPKISHA256
        self.certificatePEM = certificatePEM
        self.certificateNotAfter = certificateNotAfter
        self.expiresAt = expiresAt
        self.addedBy = addedBy
        self.addedAt = addedAt
    }

    /// The SPKI pin in `sha256/<base64>` form.
    public var spkiPin: String { "sha256/" + (Data(hexString: spkiSHA256) ?? Data()).base64EncodedString() }

    /// The certificate, parsed, when the entry carries one.
    public var certificate: ParsedCertificate? {
        guard let pem = certificatePEM,
            let bundle = try? CertificateBundle.decode(Array(pem.utf8)), let certificate = bundle.certificates.first
        else { return nil }
        return certificate
    }

    /// Whether the entry counts at `time` (its own expiry, not the certificate's).
    public func isActive(at time: Date) -> Bool {
        expiresAt.map { time <= $0 } ?? true
    }

    /// Whether `selector` (as `allowlist remove` takes it) names this entry: its name, or its certificate's or
    /// key's SHA-256 (hex with or without colons, or a `sha256/` pin).
    public func isSelected(by selector: String) -> Bool {
        let hex = Self.fingerprintHex(selector)
        return name == selector || certificateSHA256 == hex || spkiSHA256 == hex
    }

    /// A selector as the lower-case hex SHA-256 it may be.
    public static func fingerprintHex(_ selector: String) -> String {
        EntryRegistration.pinHex(selector) ?? selector.replacingOccurrences(of: ":", with: "").lowercased()
    }

    /// Whether `certificate`'s key is this entry's current or staged next key.
    public func matchesKey(of certificate: ParsedCertificate) -> Bool {
        let spki = certificate.spkiSHA256.hexString
        return spki == spkiSHA256 || spki == nextSPKISHA256
    }
}

extension Data {
    /// Bytes from lower- or upper-case hex; `nil` for anything else.
    init?(hexString: String) {
        let characters = Array(hexString.utf8)
        guard characters.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(characters.count / 2)
        var index = 0
        while index < characters.count {
            guard let high = Self.nibble(characters[index]), let low = Self.nibble(characters[index + 1]) else {
                return nil
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.init(bytes)
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
