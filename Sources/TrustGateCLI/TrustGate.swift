import ArgumentParser
import Foundation
import TrustGateAllowList
import TrustGatePKI

/// The `trustgate` command: certificate tooling, allow-lists, and the gateway.
public struct TrustGate: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "trustgate",
        abstract: "Certificates, backend allow-lists and an end-to-end TLS gateway.",
        discussion: """
            TrustGate generates test certificates, exports a backend's public certificate and key pin, and \
            registers certificates with a gateway that talks only to backends it knows.

            EXIT STATUS: 0 success; 1 verification or policy rejected; 64 usage error; 65 malformed input \
            (bad PEM/DER/PFX, wrong password); 66 input missing or unreadable; 73 output exists (use --force); \
            74 I/O error while writing.

            EXAMPLES:
              trustgate cert testpki ./testpki
              trustgate cert create backend.test --san 10.0.0.4
              trustgate cert export backend.pfx --cer backend.cer --pin
              trustgate allowlist add --gateway g1 backend.cer
            """,
        version: TrustGateVersion.current,
        subcommands: [Cert.self, AllowListCommand.self, StoreCommand.self, GatewayCommand.self, Demo.self]
    )

    public init() {}

    /// What ``start(_:)`` left to do: nothing (the exit status), or an asynchronous command to run.
    public enum Launch {
        case finished(Int32)
        case asynchronous(any AsyncParsableCommand)
    }

    /// Parses the command line and runs it when the command is synchronous, so `--version`, `--help` and the
    /// `cert` commands never start Swift's concurrency runtime (its threads cost a start-up what `openssl`
    /// takes in all). An asynchronous command is handed back for ``finish(_:)``.
    public static func start(_ arguments: [String]? = nil) -> Launch {
        // What ArgumentParser would print, without its reflection over every command (half of the start-up).
        if (arguments ?? Array(CommandLine.arguments.dropFirst())) == ["--version"] {
            print(TrustGateVersion.current)
            return .finished(0)
        }
        do {
            var command = try parseAsRoot(arguments)
            if let asynchronous = command as? AsyncParsableCommand { return .asynchronous(asynchronous) }
            try command.run()
            return .finished(0)
        } catch {
            return .finished(status(reporting: error))
        }
    }

    /// Runs an asynchronous command ``start(_:)`` handed back.
    public static func finish(_ command: any AsyncParsableCommand) async -> Int32 {
        var command = command
        do {
            try await command.run()
            return 0
        } catch {
            return status(reporting: error)
        }
    }

    /// Runs the command line, reporting every error as `trustgate: error: …` with its exit code.
    public static func execute(_ arguments: [String]? = nil) async -> Int32 {
        switch start(arguments) {
        case .finished(let status): return status
        case .asynchronous(let command): return await finish(command)
        }
    }

    /// Reports `error` as `trustgate: error: …` (ArgumentParser prints `--help` and `--version` itself) and
    /// returns its exit status.
    static func status(reporting error: any Error) -> Int32 {
        switch error {
        case let error as CLIError:
            ErrorReporter.report(error)
            return error.status.rawValue
        case let error as PKIError:
            let wrapped = CLIError(error, what: "failed")
            ErrorReporter.report(wrapped)
            return wrapped.status.rawValue
        case let error as AllowListError:
            let wrapped = CLIError(error, what: "failed")
            ErrorReporter.report(wrapped)
            return wrapped.status.rawValue
        default:
            let code = exitCode(for: error)
            if code == .success || error is ExitCode {
                // --help, --version, or a command's own clean exit: ArgumentParser prints those.
                exit(withError: error)
            }
            guard code == .validationFailure else {
                // Not a usage error and not one of ours: a defect, said as such (EX_SOFTWARE), never "invalid usage".
                let unexpected = CLIError(what: "failed", why: "\(error)", status: .software)
                ErrorReporter.report(unexpected)
                return unexpected.status.rawValue
            }
            ErrorReporter.reportUsage(message: message(for: error), full: fullMessage(for: error))
            return CLIError.ExitStatus.usage.rawValue
        }
    }
}

/// The version `--version` prints.
public enum TrustGateVersion {
    public static let current = "0.1.0"
}
