import Foundation

/// Runs the `trustgate` executable that `swift build` put beside the test bundle.
public enum TrustGateBinary {
    /// The path of the built `trustgate`.
    public static var path: String {
        get throws {
            var candidates: [String] = []
            if let bundle = Bundle.main.executableURL?.deletingLastPathComponent() {
                candidates.append(bundle.appendingPathComponent("trustgate").path)
                candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("trustgate").path)
            }
            let arg0 = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
            candidates.append(arg0.appendingPathComponent("trustgate").path)
            candidates.append(arg0.deletingLastPathComponent().appendingPathComponent("trustgate").path)
            let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent()
            candidates.append(packageRoot.appendingPathComponent(".build/debug/trustgate").path)
            for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
            throw ProcessRunner.Failure.notFound("trustgate (built executable)")
        }
    }

    /// Runs `trustgate ARGUMENTS` and returns its exit status and output.
    public static func run(
        _ arguments: [String], input: [UInt8]? = nil, in directory: String? = nil,
        environment: [String: String]? = nil, timeout: TimeInterval = 120
    ) throws -> ProcessResult {
        try ProcessRunner.run(
            try path, arguments, input: input, environment: environment, currentDirectory: directory,
            timeout: timeout
        )
    }

    /// The package's root directory (where Package.swift is), for tests that read README.md or Man/.
    public static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }
}
