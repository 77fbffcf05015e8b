import Foundation

/// The outcome of running an external program.
public struct ProcessResult: Sendable, CustomStringConvertible {
    public var status: Int32
    public var standardOutput: [UInt8]
    public var standardError: [UInt8]
    public var timedOut: Bool

    public var stdout: String { String(decoding: standardOutput, as: UTF8.self) }
    public var stderr: String { String(decoding: standardError, as: UTF8.self) }

    public var description: String {
        "exit \(status)\(timedOut ? " (timed out)" : "")\nstdout: \(stdout)\nstderr: \(stderr)"
    }
}

/// Runs programs for tests: `trustgate` itself, `openssl`, `certtool`. Output goes through files so a chatty
/// program never blocks on a full pipe; every run is bounded by a timeout.
public enum ProcessRunner {
    public enum Failure: Error, CustomStringConvertible {
        case notFound(String)
        /// A step of a test's set-up failed: what, and what it printed.
        case failed(String)
        public var description: String {
            switch self {
            case .notFound(let name): return "\(name) is not installed (see .ci/run)"
            case .failed(let detail): return detail
            }
        }
    }

    /// Runs `executable` (a path, or a name looked up on PATH) with `arguments`.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        input: [UInt8]? = nil,
        environment: [String: String]? = nil,
        currentDirectory: String? = nil,
        timeout: TimeInterval = 60
    ) throws -> ProcessResult {
        let path = executable.contains("/") ? executable : try locate(executable)
        let scratch = try TemporaryDirectory(prefix: "trustgate-run")
        defer { scratch.remove() }
        let outPath = scratch.file("out")
        let errPath = scratch.file("err")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let currentDirectory {
            process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory)
        }
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = outHandle
        process.standardError = errHandle
        let inputPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inputPipe
        try process.run()
        if let input {
            inputPipe.fileHandleForWriting.write(Data(input))
            try? inputPipe.fileHandleForWriting.close()
        }
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                process.terminate()
                break
            }
            usleep(2_000)
        }
        process.waitUntilExit()
        try? outHandle.close()
        try? errHandle.close()
        return ProcessResult(
            status: process.terminationStatus,
            standardOutput: try scratch.read("out"),
            standardError: try scratch.read("err"),
            timedOut: timedOut
        )
    }

    /// The full path of a program on PATH.
    public static func locate(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Failure.notFound(name)
    }

    /// Whether a program is on PATH.
    public static func isInstalled(_ name: String) -> Bool {
        (try? locate(name)) != nil
    }
}
