import Foundation

/// A server a test starts (openssl s_server, gnutls-serv, trustgate gateway run) and always stops.
public final class BackgroundProcess: @unchecked Sendable {
    private let process = Process()
    private let scratch: TemporaryDirectory
    /// Held open for processes that stop at end of input (openssl s_server without -www).
    private let input = Pipe()

    /// Starts `executable arguments`, its output going to a file that `output` reads.
    public init(
        _ executable: String, _ arguments: [String], currentDirectory: String? = nil, environment: [String: String]? = nil,
        keepStandardInputOpen: Bool = false
    ) throws {
        scratch = try TemporaryDirectory(prefix: "trustgate-bg")
        _ = FileManager.default.createFile(atPath: scratch.file("out"), contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.file("out")))
        process.executableURL = URL(fileURLWithPath: executable.contains("/") ? executable : try ProcessRunner.locate(executable))
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = keepStandardInputOpen ? input : FileHandle.nullDevice
        try process.run()
    }

    /// The process id.
    public var pid: Int32 { process.processIdentifier }

    /// The process's peak resident set size in bytes (Linux `VmHWM`), if it can be read.
    public var peakResidentBytes: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kilobytes * 1024
    }

    /// Everything the process has printed so far (stdout and stderr).
    public var output: String {
        (try? String(contentsOfFile: scratch.file("out"), encoding: .utf8)) ?? ""
    }

    /// Waits until the output matches `pattern` (a regular expression with one capture group) and returns the
    /// capture, or throws after `timeout`.
    public func waitFor(_ pattern: String, timeout: TimeInterval = 15) throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = output
            if let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
                let range = Range(match.range(at: match.numberOfRanges > 1 ? 1 : 0), in: text)
            {
                return String(text[range])
            }
            guard process.isRunning else { break }
            usleep(20_000)
        }
        throw ProcessRunner.Failure.notFound("'\(pattern)' in the output of \(process.executableURL?.lastPathComponent ?? "?"): \(output)")
    }

    /// Writes `text` to the process's standard input (started with `keepStandardInputOpen`).
    public func send(_ text: String) {
        try? input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
    }

    /// Sends `signalNumber` (SIGHUP, SIGTERM…) to the process.
    public func signal(_ signalNumber: Int32) {
        if process.isRunning { kill(process.processIdentifier, signalNumber) }
    }

    /// Waits up to `timeout` for the process to exit; its exit status, or nil if it still runs.
    public func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Stops the process (SIGTERM, then SIGKILL) and removes its scratch files.
    public func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(3)
            while process.isRunning, Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        try? input.fileHandleForWriting.close()
        try? FileManager.default.removeItem(atPath: scratch.path)
    }
}

/// Runs `body` with an `openssl s_server` on 127.0.0.1 (port chosen by the kernel) serving `certificate` (a chain
/// file) and `key`; the server is stopped when `body` ends.
public func withOpenSSLServer<Result>(
    certificate: String, key: String, _ body: (Int) async throws -> Result
) async throws -> Result {
    let server = try BackgroundProcess("openssl", [
        "s_server", "-accept", "127.0.0.1:0", "-cert", certificate, "-key", key, "-cert_chain", certificate, "-www",
    ])
    defer { server.stop() }
    guard let port = Int(try server.waitFor("ACCEPT 127\\.0\\.0\\.1:([0-9]+)")) else {
        throw ProcessRunner.Failure.notFound("a port in openssl s_server's output")
    }
    return try await body(port)
}
