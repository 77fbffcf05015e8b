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

    public init(format: Format, certificates: [ParsedCertificate], privateKeys: [PrivateKeyMaterial]) {
        self.format = format
        self.certificates = certificates
        self.privateKeys = privateKeys
    }

    /// Decodes a file's bytes. Throws ``PKIError`` (malformed or unsupported) for anything that is not
    /// a certificate or key file, including a truncated one.
    public static func decode(_ bytes: [UInt8], password: Password? = nil) throws(PKIError) -> CertificateBundle {
        var content = bytes[...]
        if content.starts(with: [0xEF, 0xBB, 0xBF]) { content = content.dropFirst(3) }
        guard content.contains(where: { !Self.isWhitespace($0) }) else {
            throw .malformedInput("the file is empty")
        }
        if let text = String(validating: content, as: UTF8.self), text.contains("-----BEGIN ") {
            return try decodePEM(text)
        }
        if content.first == 0x30 {
            return try decodeDER(Array(content), format: .der, password: password)
        }
        if let der = base64Body(content) {
            return try decodeDER(der, format: .base64, password: password)
        }
        throw .malformedInput(
            "not a certificate or key: neither PEM, DER, PKCS#12 nor Base64",
            hint: "TrustGate reads PEM, DER, Base64 (.cer) and PKCS#12 (.pfx) files and PKCS#8, SEC1 and PKCS#1 keys"
        )
    }

    private static func decodePEM(_ text: String) throws(PKIError) -> CertificateBundle {
        var bundle = CertificateBundle(format: .pem, certificates: [], privateKeys: [])
        let blocks = try PEMBlock.blocks(in: text)
        /// A certificate of a file of several is named by its place: the file is refused, never read in part.
        func certificate(_ der: [UInt8]) throws(PKIError) -> ParsedCertificate {
            do {
                return try ParsedCertificate(der: der)
            } catch {
                guard blocks.count > 1 else { throw error }
                var placed = error
                placed.reason = "certificate \(bundle.certificates.count + 1) of the file: \(error.reason)"
                throw placed
            }
        }
        for block in blocks {
            switch block.label {
            case "CERTIFICATE", "X509 CERTIFICATE":
                bundle.certificates.append(try certificate(block.der))
            case "TRUSTED CERTIFICATE":
                // OpenSSL's trusted form: the certificate followed by its trust settings.
                bundle.certificates.append(try certificate(firstElement(of: block.der)))
            case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
                bundle.privateKeys.append(try PrivateKeyMaterial(pemBlock: block))
            case "EC PARAMETERS":
                continue  // written by `openssl ecparam -genkey` before the key; carries nothing of ours
            case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
                throw .unsupportedInput("this is a certificate signing request (CSR), not a certificate")
            default:
                throw .unsupportedInput("PEM blocks labelled \(block.label) are not read by TrustGate")
            }
        }
        guard !bundle.certificates.isEmpty || !bundle.privateKeys.isEmpty else {
            throw .malformedInput("the PEM file holds no certificate or private key")
        }
        return bundle
    }

    private static func decodeDER(_ der: [UInt8], format: Format, password: Password?) throws(PKIError)
        -> CertificateBundle
    {
        if looksLikePKCS12(der) {
            return try PFXReader.read(der, password: password)
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
