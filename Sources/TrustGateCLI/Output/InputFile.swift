import Foundation
import TrustGatePKI

/// Reads input files, mapping every failure to exit 66 with the path.
enum InputFile {
    /// Inputs larger than this are refused: no certificate or key file comes near it.
    static let maximumSize = 16 * 1024 * 1024

    /// The bytes of `path`; `-` reads standard input.
    static func read(_ path: String) throws(CLIError) -> [UInt8] {
        if path == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard data.count <= maximumSize else {
                throw CLIError(what: "cannot read input", file: path, why: "larger than 16 MiB", status: .dataError)
            }
            return Array(data)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .noInput(path, why: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw .noInput(path, why: "is a directory, not a file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .noInput(path, why: "permission denied")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maximumSize + 1) ?? Data()
        } catch {
            throw .noInput(path, why: "read failed: \(error.localizedDescription)")
        }
        guard data.count <= maximumSize else {
            throw CLIError(what: "cannot read input", file: path, why: "larger than 16 MiB", status: .dataError)
        }
        return Array(data)
    }

    /// Reads and decodes a certificate, key or PFX file. A PFX is opened with the password from `passwords`;
    /// when none was given and neither an empty nor an absent password opens it, the terminal is asked.
    /// `tolerant` is for `cert inspect` alone (see `CertificateBundle.decode`).
    static func bundle(_ path: String, passwords: InputPasswordOptions? = nil, tolerant: Bool = false) throws(CLIError)
        -> CertificateBundle
    {
        let bytes = try read(path)
        let given = try passwords?.resolve()
        do {
            return try CertificateBundle.decode(bytes, password: given, tolerant: tolerant)
        } catch where error.code == .passwordRequired {
            if let typed = PasswordPrompt.ask("Password for \(path): ") {
                do {
                    return try CertificateBundle.decode(bytes, password: typed, tolerant: tolerant)
                } catch {
                    throw CLIError(error.about(file: path), what: "cannot read input")
                }
            }
            throw CLIError(error.about(file: path), what: "cannot read input")
        } catch {
            throw CLIError(error.about(file: path), what: "cannot read input")
        }
    }

    /// Reads a file that must hold at least one certificate.
    static func certificates(_ path: String, passwords: InputPasswordOptions? = nil) throws(CLIError)
        -> CertificateBundle
    {
        let bundle = try bundle(path, passwords: passwords)
        guard !bundle.certificates.isEmpty else {
            throw CLIError(
                what: "cannot read certificate file", file: path, why: "holds a private key but no certificate",
                hint: "pass the certificate (.pem, .cer or .crt), not its key", status: .dataError
            )
        }
        return bundle
    }
}
