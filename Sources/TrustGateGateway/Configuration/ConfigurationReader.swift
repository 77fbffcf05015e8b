import Foundation
import Yams

/// Walks a YAML document, collecting every problem with its key path, line and column instead of stopping at
/// the first one (as `nginx -t` reports a file).
final class ConfigurationReader {
    private(set) var problems: [ConfigurationProblem] = []

    /// A node with the key path that led to it.
    struct Field {
        let node: Node?
        let path: String
    }

    func problem(_ field: Field, _ message: String) {
        problems.append(
            ConfigurationProblem(path: field.path, line: field.node?.mark?.line, column: field.node?.mark?.column,
                                 message: message)
        )
    }

    /// The mapping's fields by key; unknown keys are problems (a typo must not pass silently).
    /// The mapping's entries; keys outside `allowed` are problems (`nil`: any key, e.g. field names).
    func mapping(_ field: Field, allowed: Set<String>?) -> [String: Field]? {
        guard let node = field.node else { return nil }
        guard case .mapping(let mapping) = node else {
            problem(field, "expected a mapping (key: value lines)")
            return nil
        }
        var fields: [String: Field] = [:]
        for (key, value) in mapping {
            guard let name = key.scalar?.string else {
                problem(Field(node: key, path: field.path), "keys must be plain words")
                continue
            }
            let child = Field(node: value, path: field.path.isEmpty ? name : "\(field.path).\(name)")
            if let allowed, !allowed.contains(name) {
                problem(Field(node: key, path: child.path), "unknown key '\(name)' (expected one of: \(allowed.sorted().joined(separator: ", ")))")
                continue
            }
            fields[name] = child
        }
        return fields
    }

    func sequence(_ field: Field?) -> [Field] {
        guard let field, let node = field.node else { return [] }
        guard case .sequence(let sequence) = node else {
            problem(field, "expected a list")
            return []
        }
        return sequence.enumerated().map { Field(node: $1, path: "\(field.path)[\($0)]") }
    }

    func string(_ field: Field?, required: String? = nil) -> String? {
        guard let field, let node = field.node else {
            if let required { problems.append(ConfigurationProblem(path: required, line: nil, column: nil, message: "missing")) }
            return nil
        }
        guard let scalar = node.scalar, !scalar.string.isEmpty else {
            problem(field, "expected a non-empty text value")
            return nil
        }
        return scalar.string
    }

    func strings(_ field: Field?) -> [String] {
        sequence(field).compactMap { string($0) }
    }

    func integer(_ field: Field?, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(field), let field else { return nil }
        guard let value = Int(text), range.contains(value) else {
            problem(field, "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return value
    }

    func bool(_ field: Field?) -> Bool? {
        guard let text = string(field), let field else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            problem(field, "expected true or false")
            return nil
        }
    }

    func choice<Value: RawRepresentable>(_ field: Field?, _ type: Value.Type, allowed: [Value]) -> Value?
    where Value.RawValue == String {
        guard let text = string(field), let field else { return nil }
        guard let value = Value(rawValue: text) else {
            problem(field, "expected one of: \(allowed.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return value
    }

    /// `30s`, `500ms`, `2m`, `1h`, or a bare number of seconds.
    func duration(_ field: Field?) -> TimeInterval? {
        guard let text = string(field), let field else { return nil }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let number = Double(text.dropLast(suffix.count)), number > 0, number <= 86400 / scale {
                return number * scale
            }
        }
        if let seconds = Double(text), seconds > 0, seconds <= 86400 { return seconds }
        problem(field, "expected a duration such as 30s, 500ms or 2m")
        return nil
    }
}
