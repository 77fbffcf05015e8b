import Foundation

/// Prints values as the stable JSON of `--json`: sorted keys, two-space indentation, unescaped slashes.
enum JSONOutput {
    static func print<Value: Encodable>(_ value: Value) throws(CLIError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            let data = try encoder.encode(value)
            Swift.print(String(decoding: data, as: UTF8.self))
        } catch {
            throw CLIError(what: "cannot encode JSON", why: "\(error)", status: .software)
        }
    }
}
