import ArgumentParser
import Foundation
import TrustGateGateway

/// `trustgate gateway`: the end-to-end TLS gateway.
public struct GatewayCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "The end-to-end TLS gateway: run it, check its configuration, probe its backends.",
        discussion: """
            The configuration (trustgate-gateway.yaml(5)) mirrors Azure Application Gateway's objects: listeners, \
            backend pools, backend settings and rules.

            EXAMPLES:
              trustgate gateway check-config gateway.yaml
              trustgate gateway backend-health --config gateway.yaml
            """,
        subcommands: [CheckConfig.self, Run.self, BackendHealthCommand.self]
    )

    public init() {}
}

extension GatewayCommand {
    struct CheckConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config",
            abstract: "Validate a gateway configuration without starting anything.",
            discussion: """
                Reports every problem, one line each, with the file, line and column and the key path: unknown \
                or missing keys, values of the wrong type, names used twice, rules naming listeners, pools or \
                backend settings that do not exist, https listeners without a certificate, certificate files \
                that cannot be read. Exit 0 when valid, 65 when not, 66 when the file cannot be read.

                EXAMPLES:
                  trustgate gateway check-config gateway.yaml
                """
        )

        @Argument(help: "The configuration file (YAML).")
        var file: String

        func run() throws {
            let configuration = try GatewayCommand.loadConfiguration(file)
            print(
                "\(file): ok: gateway \(configuration.gateway), \(configuration.listeners.count) listener(s), "
                    + "\(configuration.pools.count) pool(s), \(configuration.backendSettings.count) backend setting(s), "
                    + "\(configuration.rules.count) rule(s)"
            )
        }
    }

    /// Reads and validates a configuration file; every problem but the last is reported on the way, the last is
    /// thrown (exit 65).
    static func loadConfiguration(_ file: String) throws(CLIError) -> GatewayConfiguration {
        let text = String(decoding: try InputFile.read(file), as: UTF8.self)
        let base = (file as NSString).deletingLastPathComponent
        do {
            return try GatewayConfiguration.load(yaml: text, baseDirectory: base.isEmpty ? "." : base)
        } catch {
            for problem in error.problems.dropLast() { ErrorReporter.report(Self.error(problem, file: file)) }
            throw error.problems.last.map { Self.error($0, file: file) }
                ?? CLIError(what: "invalid configuration", file: file, why: "unknown problem", status: .dataError)
        }
    }

    static func error(_ problem: ConfigurationProblem, file: String) -> CLIError {
        let place = file + (problem.line.map { ":\($0)" + (problem.column.map { ":\($0)" } ?? "") } ?? "")
        let why = problem.path.isEmpty ? problem.message : "\(problem.path): \(problem.message)"
        return CLIError(what: "invalid configuration", file: place, why: why, status: .dataError)
    }
}
