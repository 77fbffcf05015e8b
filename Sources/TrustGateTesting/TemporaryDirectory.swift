import Foundation

/// A fresh directory under the system temporary directory, removed by `withTemporaryDirectory` when the body ends.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "trustgate-test") throws {
        let base = FileManager.default.temporaryDirectory.path
        let path = (base as NSString).appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
    }

    /// The path of `name` inside the directory.
    public func file(_ name: String) -> String {
        (path as NSString).appendingPathComponent(name)
    }

    /// Writes bytes to `name` and returns its path.
    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let target = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }

    /// Writes text to `name` and returns its path.
    @discardableResult
    public func write(_ name: String, text: String) throws -> String {
        try write(name, Array(text.utf8))
    }

    /// The bytes of `name`.
    public func read(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: file(name))))
    }

    /// Whether `name` exists.
    public func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: file(name))
    }

    /// The permission bits of `name` (e.g. `0o600`).
    public func mode(_ name: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: file(name))
        return (attributes[.posixPermissions] as? Int) ?? -1
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `body` with a new temporary directory and removes it afterwards, whatever happens.
public func withTemporaryDirectory<Result>(
    _ body: (TemporaryDirectory) async throws -> Result
) async throws -> Result {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    return try await body(directory)
}

/// Runs `body` with a new temporary directory holding `trustgate cert testpki`'s files in `subdirectory` (the
/// directory itself for "."), and removes it afterwards, whatever happens.
public func withTestPKI(in subdirectory: String = ".", _ body: (TemporaryDirectory) async throws -> Void) async throws {
    try await withTemporaryDirectory { dir in
        let made = try TrustGateBinary.run(["cert", "testpki", subdirectory], in: dir.path)
        guard made.status == 0 else { throw ProcessRunner.Failure.failed("trustgate cert testpki: \(made)") }
        try await body(dir)
    }
}
