import Foundation

/// One armoured block of a PEM file: its label (`CERTIFICATE`, `PRIVATE KEY`, …) and the decoded DER.
public struct PEMBlock: Hashable, Sendable {
    /// The label between `-----BEGIN ` and `-----`.
    public var label: String
    /// The DER bytes the Base64 body decodes to.
    public var der: [UInt8]
    /// RFC 1421 header lines before the body (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: …`), as they stand.
    public var headers: [String]

    public init(label: String, der: [UInt8], headers: [String] = []) {
        self.label = label
        self.der = der
        self.headers = headers
    }

    /// Whether the block's body is encrypted the legacy OpenSSL way (`Proc-Type: 4,ENCRYPTED`).
    public var isLegacyEncrypted: Bool {
        headers.contains { header in
            let parts = header.split(separator: ":", maxSplits: 1)
            return parts.count == 2 && parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "proc-type"
                && parts[1].replacingOccurrences(of: " ", with: "").uppercased().hasSuffix(",ENCRYPTED")
        }
    }

    /// One armoured block as found in a file: decoded, or the reason it could not be.
    public enum Scanned: Hashable, Sendable {
        case block(PEMBlock)
        /// The block's label and why its armour or Base64 is broken.
        case broken(label: String, reason: String)
    }

    /// The PEM text of this block, 64 columns, with the given line ending.
    public func encoded(lineEnding: String = "\n") -> String {
        let body = Data(der).base64EncodedString()
        var text = "-----BEGIN \(label)-----" + lineEnding
        var index = body.startIndex
        while index < body.endIndex {
            let end = body.index(index, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
            text += body[index..<end] + lineEnding
            index = end
        }
        text += "-----END \(label)-----" + lineEnding
        return text
    }

    /// Finds every armoured block in `text`.
    ///
    /// Tolerant of what real files carry: CRLF line endings, a byte-order mark, text before, between and after
    /// blocks (as `openssl x509 -text` writes), and RFC 1421 headers (`Proc-Type:`). A block whose body is not
    /// Base64, or that has no matching END line, is an error: a truncated file must not pass for a shorter one.
    public static func blocks(in text: String) throws(PKIError) -> [PEMBlock] {
        var blocks: [PEMBlock] = []
        for scanned in scan(text) {
            switch scanned {
            case .block(let block): blocks.append(block)
            case .broken(_, let reason): throw .malformedInput(reason)
            }
        }
        return blocks
    }

    /// Every armoured block of `text` in file order, each decoded or said to be broken; nothing is skipped.
    /// A block without its END line is the last one: the rest of the file is its body.
    public static func scan(_ text: String) -> [Scanned] {
        var found: [Scanned] = []
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })[...]
        while let line = lines.popFirst() {
            guard let label = armourLabel(line, kind: "BEGIN") else { continue }
            var body = ""
            var headers: [String] = []
            var end: String?
            while let inner = lines.popFirst() {
                if let endLabel = armourLabel(inner, kind: "END") {
                    end = endLabel
                    break
                }
                let trimmed = inner.trimmingCharacters(in: .whitespacesAndNewlines)
                if trimmed.contains(":") {
                    headers.append(trimmed)  // RFC 1421 header such as Proc-Type or DEK-Info
                    continue
                }
                body += trimmed
            }
            guard let end else {
                found.append(.broken(label: label, reason: "PEM block \(label) has no END line: the file is truncated"))
                break
            }
            guard end == label else {
                found.append(.broken(label: label, reason: "PEM block BEGIN \(label) ends with END \(end)"))
                continue
            }
            guard let data = Data(base64Encoded: body), !data.isEmpty else {
                found.append(.broken(label: label, reason: "PEM block \(label) does not hold valid Base64"))
                continue
            }
            found.append(.block(PEMBlock(label: label, der: Array(data), headers: headers)))
        }
        return found
    }

    private static func armourLabel(_ line: Substring, kind: String) -> String? {
        var trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("\u{FEFF}") { trimmed.removeFirst() }
        let prefix = "-----\(kind) "
        guard trimmed.hasPrefix(prefix), trimmed.hasSuffix("-----"), trimmed.count > prefix.count + 5 else {
            return nil
        }
        return String(trimmed.dropFirst(prefix.count).dropLast(5))
    }
}
