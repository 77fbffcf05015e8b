import Foundation

/// One armoured block of a PEM file: its label (`CERTIFICATE`, `PRIVATE KEY`, …) and the decoded DER.
public struct PEMBlock: Hashable, Sendable {
    /// The label between `-----BEGIN ` and `-----`.
    public var label: String
    /// The DER bytes the Base64 body decodes to.
    public var der: [UInt8]

    public init(label: String, der: [UInt8]) {
        self.label = label
        self.der = der
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
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })[...]
        while let line = lines.popFirst() {
            guard let label = armourLabel(line, kind: "BEGIN") else { continue }
            var body = ""
            var closed = false
            while let inner = lines.popFirst() {
                if let endLabel = armourLabel(inner, kind: "END") {
                    guard endLabel == label else {
                        throw .malformedInput("PEM block BEGIN \(label) ends with END \(endLabel)")
                    }
                    closed = true
                    break
                }
                let trimmed = inner.trimmingCharacters(in: .whitespacesAndNewlines)
                if trimmed.contains(":") { continue }  // RFC 1421 header such as Proc-Type or DEK-Info
                body += trimmed
            }
            guard closed else {
                throw .malformedInput("PEM block \(label) has no END line: the file is truncated")
            }
            guard let data = Data(base64Encoded: body), !data.isEmpty else {
                throw .malformedInput("PEM block \(label) does not hold valid Base64")
            }
            blocks.append(PEMBlock(label: label, der: Array(data)))
        }
        return blocks
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
