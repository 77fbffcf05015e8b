import Crypto
import Foundation
import SwiftASN1

/// Everything one input file holds: certificates in file order, private keys, and the format it was in.
///
/// The format is detected from the content, never from the file name: PEM (any number of blocks, CRLF,
/// a BOM, text around the blocks), binary DER, or a Base64 `.cer` without its armour lines.
public struct CertificateBundle: Sendable {
    /// How the input was encoded.
    public enum Format: String, Sendable, Codable {
        case pem
        case der
        case base64
        case pkcs12
    }

    public var format: Format
    public var certificates: [ParsedCertificate]
    public var privateKeys: [PrivateKeyMaterial]
    /// For a PKCS#12 file: how it is protected.
    public var pfx: PFXContainerReport?
    /// What a tolerant reading reported instead of refusing the file, in file order; always empty when strict.
    public var unreadable: [UnreadablePart] = []

    public init(format: Format, certificates: [ParsedCertificate], privateKeys: [PrivateKeyMaterial]) {
        self.format = format
        self.certificates = certificates
        self.privateKeys = privateKeys
    }

    /// Decodes a file's bytes. Throws ``PKIError`` (malformed or unsupported) for anything that is not
    /// a certificate or key file, including a truncated one.
    ///
    /// `tolerant` (for `cert inspect` only) reads every part that can be read and lists the others in
    /// `unreadable`: certificates that are not strict DER, encrypted or unsupported keys, blocks TrustGate does not
    /// read, a broken or truncated block. It still throws when nothing at all could be read.
    public static func decode(_ bytes: [UInt8], password: Password? = nil, tolerant: Bool = false) throws(PKIError)
        -> CertificateBundle
    {
        var content = bytes[...]
        if content.starts(with: [0xEF, 0xBB, 0xBF]) { content = content.dropFirst(3) }
        guard content.contains(where: { !Self.isWhitespace($0) }) else {
            throw .malformedInput("the file is empty")
        }
        if let text = String(validating: content, as: UTF8.self), text.contains("-----BEGIN ") {
            return try decodePEM(text, tolerant: tolerant)
        }
        if content.first == 0x30 {
            return try decodeDER(Array(content), format: .der, password: password, tolerant: tolerant)
        }
        if let der = base64Body(content) {
            return try decodeDER(der, format: .base64, password: password, tolerant: tolerant)
        }
        throw .malformedInput(
            "not a certificate or key: neither PEM, DER, PKCS#12 nor Base64",
            hint: "TrustGate reads PEM, DER, Base64 (.cer) and PKCS#12 (.pfx) files and PKCS#8, SEC1 and PKCS#1 keys"
        )
    }

    private static func decodePEM(_ text: String, tolerant: Bool) throws(PKIError) -> CertificateBundle {
        var bundle = CertificateBundle(format: .pem, certificates: [], privateKeys: [])
        let scanned = PEMBlock.scan(text)
        /// The first error met, thrown when strict, or when tolerant reading found nothing at all.
        var firstError: PKIError?
        func report(_ error: PKIError, _ part: UnreadablePart) throws(PKIError) {
            guard tolerant else { throw error }
            if firstError == nil { firstError = error }
            bundle.unreadable.append(part)
        }
        for (index, entry) in scanned.enumerated() {
            let position = index + 1
            let block: PEMBlock
            switch entry {
            case .block(let decoded):
                block = decoded
            case .broken(let label, let reason):
                try report(.malformedInput(reason), UnreadablePart(
                    kind: Self.kind(ofLabel: label), position: position, label: label, reason: reason,
                    brokenEncoding: true))
                continue
            }
            switch block.label {
            case "CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE":
                do {
                    // OpenSSL's trusted form: the certificate followed by its trust settings.
                    let der = block.label == "TRUSTED CERTIFICATE" ? try firstElement(of: block.der) : block.der
                    bundle.certificates.append(try ParsedCertificate(der: der))
                } catch {
                    // A certificate of a file of several is named by its place.
                    var placed = error
                    if scanned.count > 1 {
                        placed.reason = "certificate \(bundle.certificates.count + 1) of the file: \(error.reason)"
                    }
                    try report(placed, UnreadablePart(
                        kind: .certificate, position: position, label: block.label, reason: error.reason,
                        sha256: Array(SHA256.hash(data: block.der)).hexString))
                }
            case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
                do {
                    bundle.privateKeys.append(try PrivateKeyMaterial(pemBlock: block))
                } catch {
                    try report(error, UnreadablePart(
                        kind: .privateKey, position: position, label: block.label, reason: error.reason,
                        key: PrivateKeyMaterial.describe(pemBlock: block)))
                }
            case "EC PARAMETERS":
                continue  // written by `openssl ecparam -genkey` before the key; carries nothing of ours
            case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
                let reason = "this is a certificate signing request (CSR), not a certificate"
                try report(.unsupportedInput(reason), UnreadablePart(
                    kind: .other, position: position, label: block.label, reason: reason))
            default:
                let reason = "PEM blocks labelled \(block.label) are not read by TrustGate"
                try report(.unsupportedInput(reason), UnreadablePart(
                    kind: Self.kind(ofLabel: block.label), position: position, label: block.label, reason: reason,
                    key: block.label.hasSuffix("PRIVATE KEY") ? PrivateKeyMaterial.describe(pemBlock: block) : nil))
            }
        }
        // Tolerant reading still refuses a file of which nothing could be read or described.
        guard !bundle.certificates.isEmpty || !bundle.privateKeys.isEmpty
            || bundle.unreadable.contains(where: { $0.key != nil })
        else {
            throw firstError ?? .malformedInput("the PEM file holds no certificate or private key")
        }
        return bundle
    }

    /// What a PEM label says a block is.
    private static func kind(ofLabel label: String) -> UnreadablePart.Kind {
        if label.hasSuffix("CERTIFICATE") { return .certificate }
        if label.hasSuffix("PRIVATE KEY") { return .privateKey }
        return .other
    }

    private static func decodeDER(_ der: [UInt8], format: Format, password: Password?, tolerant: Bool)
        throws(PKIError) -> CertificateBundle
    {
        if looksLikePKCS12(der) {
            return try PFXReader.read(der, password: password, tolerant: tolerant)
        }
        let certificateError: PKIError
        do {
            let certificate = try ParsedCertificate(der: der)
            return CertificateBundle(format: format, certificates: [certificate], privateKeys: [])
        } catch {
            certificateError = error
        }
        let key: PrivateKeyMaterial? =
            (try? PrivateKeyMaterial(pkcs8DER: der)) ?? (try? PrivateKeyMaterial(sec1DER: der))
            ?? (try? PrivateKeyMaterial(rsaDER: der))
        if let key {
            return CertificateBundle(format: format, certificates: [], privateKeys: [key])
        }
        throw certificateError
    }

    /// `PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, macData OPTIONAL }`: judged from the first
    /// bytes alone, so a truncated PFX is still reported as a PFX.
    static func looksLikePKCS12(_ der: [UInt8]) -> Bool {
        guard der.count >= 8, der[0] == 0x30 else { return false }
        let lengthOctets: Int
        switch der[1] {
        case 0x80: lengthOctets = 0  // BER indefinite length
        case 0x81...0x84: lengthOctets = Int(der[1] & 0x7f)
        case 0x00..<0x80: lengthOctets = 0
        default: return false
        }
        let versionStart = 2 + lengthOctets
        guard der.count >= versionStart + 4 else { return false }
        // INTEGER 3, then a ContentInfo SEQUENCE: an X.509 certificate has a SEQUENCE (its TBSCertificate) here.
        return Array(der[versionStart..<(versionStart + 3)]) == [0x02, 0x01, 0x03] && der[versionStart + 3] == 0x30
    }

    private static func firstElement(of der: [UInt8]) throws(PKIError) -> [UInt8] {
        // `DER.parse` wants exactly one element; take the leading one and leave the trust settings.
        Array(der.prefix(try leadingElementLength(der)))
    }

    private static func base64Body(_ content: ArraySlice<UInt8>) -> [UInt8]? {
        let body = content.filter { !isWhitespace($0) }
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=".utf8)
        guard body.allSatisfy({ alphabet.contains($0) }) else { return nil }
        guard let data = Data(base64Encoded: Data(body)), data.first == 0x30 else { return nil }
        return Array(data)
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}

/// The length in bytes of the DER element at the start of `bytes` (tag, length and content).
func leadingElementLength(_ bytes: [UInt8]) throws(PKIError) -> Int {
    guard bytes.count >= 2 else { throw .malformedInput("truncated DER") }
    let first = Int(bytes[1])
    if first < 0x80 { return 2 + first }
    let count = first & 0x7f
    guard count > 0, count <= 4, bytes.count >= 2 + count else { throw .malformedInput("bad DER length") }
    var length = 0
    for byte in bytes[2..<(2 + count)] { length = length << 8 | Int(byte) }
    let total = 2 + count + length
    guard total <= bytes.count else { throw .malformedInput("truncated DER") }
    return total
}
