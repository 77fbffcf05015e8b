import Foundation
import TrustGatePKI

/// The export/import format of one gateway's allow-list: JSON carrying each entry's certificate as PEM.
///
/// ```json
/// {"format": "trustgate-allowlist/1", "gateway": "g1", "exportedAt": "2026-11-22T10:00:00Z",
///  "entries": [{"name": "backend.test", "kind": "pinned", "certificate": "-----BEGIN CERTIFICATE-----…",
///               "spkiSha256": "…", "nextSpkiSha256": null, "expiresAt": null}]}
/// ```
/// `certificate` may be absent for an `spki-pin` entry made from a pin alone; otherwise its fingerprints are
/// recomputed on import and `spkiSha256` must agree.
public struct AllowListDocument: Codable, Sendable {
    public static let formatName = "trustgate-allowlist/1"

    public struct Entry: Codable, Sendable {
        public var name: String
        public var kind: EntryKind
        public var certificate: String?
        public var spkiSha256: String
        public var nextSpkiSha256: String?
        public var expiresAt: Date?
    }

    public var format: String
    public var gateway: String
    public var exportedAt: Date
    public var entries: [Entry]

    public init(gateway: String, entries: [AllowListEntry], at time: Date = Date()) {
        format = Self.formatName
        self.gateway = gateway
        exportedAt = time
        self.entries = entries.map {
            Entry(name: $0.name, kind: $0.kind, certificate: $0.certificatePEM, spkiSha256: $0.spkiSHA256,
                  nextSpkiSha256: $0.nextSPKISHA256, expiresAt: $0.expiresAt)
        }
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    /// Reads and validates a document: every entry, before anything is imported.
    public static func decode(_ data: Data, file: String?) throws(AllowListError) -> AllowListDocument {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let document: AllowListDocument
        do {
            document = try decoder.decode(AllowListDocument.self, from: data)
        } catch {
            throw .invalidDocument("not a TrustGate allow-list document: \(Self.describe(error))", file: file)
        }
        guard document.format == formatName else {
            throw .invalidDocument("format \(document.format) is not \(formatName)", file: file)
        }
        return document
    }

    /// The entries as they will be stored, with fingerprints recomputed from the certificates; throws at the first
    /// entry that is not valid, naming it.
    public func storeEntries(gateway: String, actor: String, now: Date = Date(), file: String?) throws(AllowListError)
        -> [AllowListEntry]
    {
        var names = Set<String>()
        return try entries.enumerated().map { (index, entry) throws(AllowListError) -> AllowListEntry in
            let label = "entry \(index + 1) (\(entry.name))"
            guard names.insert(entry.name).inserted else {
                throw .invalidDocument("\(label): the name appears twice", file: file)
            }
            guard let spki = EntryRegistration.pinHex(entry.spkiSha256) else {
                throw .invalidDocument("\(label): spkiSha256 is not a SHA-256", file: file)
            }
            var certificate: ParsedCertificate?
            if let pem = entry.certificate {
                do throws(PKIError) {
                    certificate = try CertificateBundle.decode(Array(pem.utf8)).certificates.first
                } catch {
                    throw .invalidDocument("\(label): \(error.reason)", file: file)
                }
                guard let parsed = certificate, parsed.spkiSHA256.hexString == spki else {
                    throw .invalidDocument("\(label): spkiSha256 does not match the certificate", file: file)
                }
                if entry.kind == .trustedRoot, !(parsed.isCA && parsed.isSelfIssued) {
                    throw .invalidDocument("\(label): a trusted root must be a self-signed CA", file: file)
                }
            } else if entry.kind != .spkiPin {
                throw .invalidDocument("\(label): a \(entry.kind.rawValue) entry needs its certificate", file: file)
            }
            return AllowListEntry(
                gateway: gateway, name: entry.name, kind: entry.kind, subject: certificate?.subject.description,
                certificateSHA256: certificate?.sha256.hexString, spkiSHA256: spki,
                nextSPKISHA256: entry.nextSpkiSha256.flatMap(EntryRegistration.pinHex),
                certificatePEM: certificate?.pem, certificateNotAfter: certificate?.notAfter,
                expiresAt: entry.expiresAt, addedBy: actor, addedAt: now
            )
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing key \(key.stringValue)"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "bad value at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "not JSON" : "bad value at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: return "\(error)"
        }
    }
}
