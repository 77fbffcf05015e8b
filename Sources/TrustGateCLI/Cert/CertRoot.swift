import ArgumentParser
import TrustGatePKI

extension Cert {
    struct Root: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "root",
            abstract: "Extract the self-signed root certificate of a chain.",
            discussion: """
                Orders the certificates of IN from the leaf upward by issuer name and signature and prints (or \
                writes with --out) the self-signed root the chain ends in: the certificate to register as a \
                gateway's trusted root. When the chain stops short of a root, exits 1 and names the issuer that \
                is missing.

                EXAMPLES:
                  trustgate cert root backend-fullchain.pem
                  trustgate cert root backend-fullchain.pem --out root.pem
                """
        )

        @Argument(help: "A certificate chain (PEM with several certificates).")
        var input: String

        @Option(help: "Write the root to this file instead of printing it.")
        var out: String?

        @OptionGroup var passwords: InputPasswordOptions
        @OptionGroup var overwrite: OverwriteOptions

        func run() throws {
            let bundle = try InputFile.certificates(input, passwords: passwords)
            let root = try RootLookup.root(of: bundle, file: input)
            guard let out else {
                print(root.pem, terminator: "")
                return
            }
            var files = OutputFiles(force: overwrite.force)
            try files.add(out, text: root.pem, label: "root certificate \(root.displayName)")
            try WrittenFiles.report(try files.commit(), json: false)
        }
    }
}
