/// One problem in a configuration file, located as an editor shows it.
public struct ConfigurationProblem: Error, Hashable, Sendable, CustomStringConvertible {
    /// The key path, e.g. `listeners[0].certificate.pfx`.
    public var path: String
    /// 1-based line and column of the offending node, when known.
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(path: String, line: Int?, column: Int?, message: String) {
        self.path = path
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        let place = line.map { ":\($0)" + (column.map { ":\($0)" } ?? "") } ?? ""
        return "\(place.isEmpty ? "" : String(place.dropFirst()) + ": ")\(path): \(message)"
    }
}
