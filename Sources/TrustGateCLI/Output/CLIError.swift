import TrustGatePKI

/// A failure the CLI reports: one line `trustgate: error: <what> (<file>): <why>`, an optional `hint:` line,
/// and the sysexits-style exit code of the SPEC.
public struct CLIError: Error, Sendable, CustomStringConvertible {
    /// Exit codes (sysexits style) — the product contract.
    public enum ExitStatus: Int32, Sendable {
        case rejected = 1
        case usage = 64
        case dataError = 65
        case noInput = 66
        case software = 70
        case cannotCreate = 73
        case ioError = 74
    }

    public var what: String
    public var file: String?
    public var why: String
    public var hint: String?
    public var status: ExitStatus

    public init(what: String, file: String? = nil, why: String, hint: String? = nil, status: ExitStatus) {
        self.what = what
        self.file = file
        self.why = why
        self.hint = hint
        self.status = status
    }

    /// The error line, without the `trustgate: error: ` prefix.
    public var description: String {
        let place = file.map { " (\($0))" } ?? ""
        return "\(what)\(place): \(why)"
    }

    /// An input file that does not exist or cannot be read.
    public static func noInput(_ path: String, why: String) -> CLIError {
        CLIError(what: "cannot read input", file: path, why: why, status: .noInput)
    }

    /// An output that exists, written only with `--force`.
    public static func outputExists(_ path: String) -> CLIError {
        CLIError(
            what: "refusing to overwrite", file: path, why: "the file exists",
            hint: "pass --force to replace it", status: .cannotCreate
        )
    }

    /// Writing an output failed.
    public static func writeFailed(_ path: String, why: String) -> CLIError {
        CLIError(what: "cannot write output", file: path, why: why, status: .ioError)
    }

    /// The command line asks for something impossible.
    public static func usage(_ why: String, hint: String? = nil) -> CLIError {
        CLIError(what: "invalid usage", why: why, hint: hint, status: .usage)
    }

    /// A well-formed input that is not acceptable (exit 1).
    public static func rejected(_ what: String, file: String? = nil, why: String, hint: String? = nil) -> CLIError {
        CLIError(what: what, file: file, why: why, hint: hint, status: .rejected)
    }

    /// A PKI-layer error, attributed to what the command was doing.
    public init(_ error: PKIError, what: String) {
        let status: ExitStatus
        switch error.code {
        case .malformedInput, .unsupportedInput, .wrongPassword, .passwordRequired: status = .dataError
        case .invalidRequest: status = error.file == nil ? .usage : .dataError
        default: status = .software
        }
        self.init(what: what, file: error.file, why: error.reason, hint: error.hint, status: status)
    }
}
