/// A password for a PKCS#12 file. Its bytes never appear in descriptions, logs or output.
public struct Password: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The UTF-8 bytes of the password.
    public let bytes: [UInt8]

    public init(_ text: String) {
        bytes = Array(text.utf8)
    }

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Reads a password as written in a password file or descriptor: everything, less one trailing newline
    /// (`\n` or `\r\n`), as `openssl -passin file:` does. Other whitespace is part of the password.
    public init(fileContents: [UInt8]) {
        var bytes = fileContents
        if bytes.last == 0x0A {
            bytes.removeLast()
            if bytes.last == 0x0D { bytes.removeLast() }
        }
        self.bytes = bytes
    }

    public var isEmpty: Bool { bytes.isEmpty }

    public var description: String { "<password>" }
    public var debugDescription: String { "<password>" }

    /// Calls `body` with the password as a NUL-terminated C string.
    func withCString<Result>(_ body: (UnsafePointer<CChar>) throws -> Result) rethrows -> Result {
        var copy = bytes.map { CChar(bitPattern: $0) }
        copy.append(0)
        defer {
            for index in copy.indices { copy[index] = 0 }
        }
        return try copy.withUnsafeBufferPointer { buffer in
            // `copy` holds at least the terminator, so the base address exists.
            guard let base = buffer.baseAddress else { return try body("") }
            return try body(base)
        }
    }
}
