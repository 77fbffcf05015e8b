import ArgumentParser
import Foundation
import TrustGatePKI

/// Where the password of an input PFX comes from. Never from argv: a file, an environment variable, a file
/// descriptor, or a prompt on the terminal.
struct InputPasswordOptions: ParsableArguments {
    @Option(help: "Read the input PFX password from this file (one trailing newline is not part of it).")
    var passwordFile: String?

    @Option(help: "Read the input PFX password from this environment variable.")
    var passwordEnv: String?

    @Option(help: "Read the input PFX password from this file descriptor ('-' for standard input).")
    var passwordFd: String?

    func validate() throws {
        guard [passwordFile, passwordEnv, passwordFd].compactMap({ $0 }).count <= 1 else {
            throw ValidationError("give one of --password-file, --password-env and --password-fd")
        }
    }

    /// The password given, or `nil` when none was (an empty and an absent password are then tried).
    func resolve() throws(CLIError) -> Password? {
        try PasswordSource.read(file: passwordFile, env: passwordEnv, fd: passwordFd, flag: "--password")
    }
}

/// Where the password of a PFX being written comes from.
struct OutputPasswordOptions: ParsableArguments {
    @Option(help: "Read the new PFX's password from this file (one trailing newline is not part of it).")
    var outPasswordFile: String?

    @Option(help: "Read the new PFX's password from this environment variable.")
    var outPasswordEnv: String?

    @Option(help: "Read the new PFX's password from this file descriptor ('-' for standard input).")
    var outPasswordFd: String?

    func validate() throws {
        guard [outPasswordFile, outPasswordEnv, outPasswordFd].compactMap({ $0 }).count <= 1 else {
            throw ValidationError("give one of --out-password-file, --out-password-env and --out-password-fd")
        }
    }

    /// The password given, or one typed twice at a prompt; a usage error when neither is possible.
    func resolve() throws(CLIError) -> Password {
        if let password = try PasswordSource.read(
            file: outPasswordFile, env: outPasswordEnv, fd: outPasswordFd, flag: "--out-password")
        {
            return password
        }
        guard let first = PasswordPrompt.ask("Password for the new PFX: "),
            let second = PasswordPrompt.ask("Again: ")
        else {
            throw .usage(
                "a PFX needs a password and there is no terminal to ask for one",
                hint: "pass --out-password-file FILE (an empty file for an empty password) or --out-password-env VAR"
            )
        }
        guard first == second else { throw .usage("the two passwords differ") }
        return first
    }
}

enum PasswordSource {
    static func read(file: String?, env: String?, fd: String?, flag: String) throws(CLIError) -> Password? {
        if let file {
            return Password(fileContents: try InputFile.read(file))
        }
        if let env {
            guard let value = ProcessInfo.processInfo.environment[env] else {
                throw .usage("\(flag)-env names \(env), which is not set")
            }
            return Password(value)
        }
        if let fd {
            let descriptor: Int32
            if fd == "-" {
                descriptor = 0
            } else {
                guard let number = Int32(fd), number >= 0 else {
                    throw .usage("\(flag)-fd takes a file descriptor number or '-'")
                }
                descriptor = number
            }
            let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: false)
            do {
                let data = try handle.read(upToCount: 65536) ?? Data()
                return Password(fileContents: Array(data))
            } catch {
                throw CLIError(what: "cannot read password", file: "fd \(fd)", why: "\(error)", status: .noInput)
            }
        }
        return nil
    }
}
