/// Every problem of a configuration, as thrown by ``GatewayConfiguration/load(yaml:baseDirectory:)``.
public struct ConfigurationProblems: Error, Sendable, CustomStringConvertible {
    public let problems: [ConfigurationProblem]

    public init(_ problems: [ConfigurationProblem]) {
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
