import Crypto
import SwiftASN1
import TrustGatePKI

/// Byte-level changes to a certificate for hostile-input tests: the TBSCertificate taken apart into its encoded
/// fields, one replaced by raw DER (an INTEGER of any size, a BER boolean, an extension no library should
/// accept), and the certificate put back together, signed again by a P-256 key so that only the change is
/// wrong with it.
public enum CertificateSurgery {
    /// The fields of `der`'s TBSCertificate, each as encoded: [version], serial, signature, issuer, validity,
    /// subject, subjectPublicKeyInfo, then any unique IDs and [3] extensions.
    public static func tbsFields(_ der: [UInt8]) throws -> [[UInt8]] {
        let root = try DER.parse(der)
        guard case .constructed(let outer) = root.content, let tbs = outer.first(where: { _ in true }),
            case .constructed(let fields) = tbs.content
        else { throw ASN1Error.invalidASN1Object(reason: "not a certificate") }
        return fields.map { Array($0.encodedBytes) }
    }

    /// A certificate with `fields` as its TBSCertificate, signed with ecdsa-with-SHA256 by `key` (a P-256 key).
    public static func assemble(_ fields: [[UInt8]], signer key: PrivateKeyMaterial) throws -> [UInt8] {
        guard case .p256(let signing) = key.backing else {
            throw ASN1Error.invalidASN1Object(reason: "CertificateSurgery signs with P-256 keys only")
        }
        let tbs = element(0x30, fields.flatMap { $0 })
        let signature = try signing.signature(for: tbs).derRepresentation
        return element(0x30, tbs + ecdsaWithSHA256 + element(0x03, [0] + Array(signature)))
    }

    /// `fields` with the one at `index` replaced.
    public static func replacing(_ fields: [[UInt8]], at index: Int, with replacement: [UInt8]) -> [[UInt8]] {
        var copy = fields
        copy[index] = replacement
        return copy
    }

    /// A certificate like `certificate` (made by ``CustomCertificate``, version present, so the serial is field
    /// 1) with the TBS field at `index` replaced, re-signed by its issuer's `key`.
    public static func altered(_ certificate: CustomCertificate, signer: PrivateKeyMaterial? = nil, field index: Int,
                               with replacement: [UInt8]) throws -> [UInt8] {
        let fields = try tbsFields(certificate.certificate.der)
        return try assemble(replacing(fields, at: index, with: replacement), signer: signer ?? certificate.key)
    }

    /// The same certificate bytes with the first occurrence of `pattern` replaced by `replacement` (same length:
    /// no length octet changes), signature left as it was.
    public static func patched(_ der: [UInt8], _ pattern: [UInt8], _ replacement: [UInt8]) -> [UInt8]? {
        guard pattern.count == replacement.count, pattern.count <= der.count else { return nil }
        for start in 0...(der.count - pattern.count) where Array(der[start..<(start + pattern.count)]) == pattern {
            var copy = der
            copy.replaceSubrange(start..<(start + pattern.count), with: replacement)
            return copy
        }
        return nil
    }

    /// A DER element: tag, definite length, content.
    public static func element(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        [tag] + length(content.count) + content
    }

    /// `version [0] EXPLICIT INTEGER` with the given content octets.
    public static func version(_ integer: [UInt8]) -> [UInt8] {
        element(0xA0, element(0x02, integer))
    }

    /// The DER length octets of `count`.
    public static func length(_ count: Int) -> [UInt8] {
        guard count >= 0x80 else { return [UInt8(count)] }
        var octets: [UInt8] = []
        var rest = count
        while rest > 0 {
            octets.insert(UInt8(rest & 0xFF), at: 0)
            rest >>= 8
        }
        return [0x80 | UInt8(octets.count)] + octets
    }

    /// `SEQUENCE { ecdsa-with-SHA256 }`.
    public static let ecdsaWithSHA256: [UInt8] = [0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02]

    /// An `extensions [3]` field holding the given encoded extensions.
    public static func extensions(_ encoded: [[UInt8]]) -> [UInt8] {
        element(0xA3, element(0x30, encoded.flatMap { $0 }))
    }

    /// One `Extension ::= SEQUENCE { extnID, critical, extnValue }` with a raw value.
    public static func `extension`(oid: [UInt8], critical: Bool = false, value: [UInt8]) -> [UInt8] {
        element(0x30, element(0x06, oid) + (critical ? [0x01, 0x01, 0xFF] : []) + element(0x04, value))
    }

    /// The basicConstraints OID, 2.5.29.19.
    public static let basicConstraintsOID: [UInt8] = [0x55, 0x1D, 0x13]
}
