import ArgumentParser
import Foundation
import TrustGatePKI

extension Cert {
    struct TestPKICommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "testpki",
            abstract: "Write a ready test PKI for gateway testing: CAs, good and bad backend certificates.",
            discussion: """
                Creates DIR (if needed) with a root CA, an intermediate CA, a second untrusted root, a listener \
                certificate for gateway.test, and backend certificates for backend.test: valid, expired, \
                not-yet-valid, wrong-host, untrusted, self-signed, missing-intermediate and weak-key (RSA-1024). \
                DIR/README.md lists every file, what it is for, and the verdict and reason category a gateway \
                that trusts root-ca.pem must give it. Keys are EC P-256, written 0600.

                EXAMPLES:
                  trustgate cert testpki ./testpki
                  openssl verify -CAfile testpki/root-ca.pem -untrusted testpki/intermediate-ca.pem \\
                      testpki/backend-valid.pem
                """
        )

        @Argument(help: "The directory to write into; created if missing.")
        var directory: String

        @OptionGroup var overwrite: OverwriteOptions
        @OptionGroup var output: JSONOptions

        func run() throws {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw CLIError.writeFailed(directory, why: "exists and is not a directory")
                }
            } else {
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                } catch {
                    throw CLIError.writeFailed(directory, why: "cannot create the directory: \(error.localizedDescription)")
                }
            }
            let pki: TestPKI
            do {
                pki = try TestPKI()
            } catch {
                throw CLIError(error, what: "cannot create the test PKI")
            }
            var files = OutputFiles(force: overwrite.force)
            for file in pki.files {
                let path = (directory as NSString).appendingPathComponent(file.name)
                try files.add(path, file.contents, secret: file.isSecret, label: file.purpose)
            }
            let written = try files.commit()
            if output.json {
                try WrittenFiles.report(written, json: true)
                return
            }
            print("wrote a test PKI for \(TestPKI.backendHost) to \(directory): \(written.count) files")
            for file in pki.files {
                let verdict = file.expectedCategory.map { "  → \($0.rawValue)" } ?? ""
                print("  \(file.name)\(verdict)")
            }
            print("see \((directory as NSString).appendingPathComponent("README.md")) for what each file is for")
        }
    }
}
