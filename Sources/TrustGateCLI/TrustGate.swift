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

    /// Runs the command line, reporting every error as `trustgate: error: …` with its exit code.
    public static func execute(_ arguments: [String]? = nil) async -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let error as CLIError {
            ErrorReporter.report(error)
            return error.status.rawValue
        } catch let error as PKIError {
            let wrapped = CLIError(error, what: "failed")
            ErrorReporter.report(wrapped)
            return wrapped.status.rawValue
        } catch let error as AllowListError {
            let wrapped = CLIError(error, what: "failed")
            ErrorReporter.report(wrapped)
            return wrapped.status.rawValue
        } catch {
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
