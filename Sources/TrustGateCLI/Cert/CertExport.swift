import ArgumentParser
import TrustGatePKI

extension Cert {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Export a backend's public certificate, public key, pin and root.",
            discussion: """
                Takes the leaf certificate of IN (a PEM chain, DER, Base64 .cer, or a PEM with its key) and \
                writes what a gateway needs registered: --cer (DER), --cer-base64 (Base64 .cer with CRLF, as \
                Windows and Azure write it), --public-key (SPKI as PEM), --root (the self-signed root the chain \
                ends in; exit 1 naming the missing issuer when the chain stops short of one). --pin prints the \
                SPKI pin (sha256/BASE64). With no option, the leaf certificate is printed as PEM. Private keys \
                are never exported.

                EXAMPLES:
                  trustgate cert export backend.pem --cer backend.cer
                  trustgate cert export backend.pem --cer-base64 backend-b64.cer --pin
                  trustgate cert export backend-fullchain.pem --root root.cer
                """
        )

        @Argument(help: "The backend's certificate file (chain and key allowed).")
        var input: String

        @OptionGroup var certificateOutput: CertificateOutputOptions

        @Option(help: "Write the leaf's public key (SubjectPublicKeyInfo) as PEM.")
        var publicKey: String?

        @Flag(help: "Print the leaf's SPKI pin (sha256/BASE64).")
        var pin = false

        @Option(help: "Write the root certificate of the chain as PEM.")
        var root: String?

        @OptionGroup var passwords: InputPasswordOptions
        @OptionGroup var overwrite: OverwriteOptions

        func run() throws {
            let bundle = try InputFile.certificates(input, passwords: passwords)
            guard let leaf = ChainAnalysis.leaf(of: bundle.certificates) else {
                throw CLIError(what: "cannot export", file: input, why: "no certificate", status: .dataError)
            }
            var files = OutputFiles(force: overwrite.force)
            try certificateOutput.add(leaf, to: &files)
            if let publicKey {
                try files.add(publicKey, text: CertificateEncoding.publicKeyPEM(leaf), label: "public key, PEM")
            }
            if let root {
                let rootCertificate = try RootLookup.root(of: bundle, file: input)
                try files.add(root, text: rootCertificate.pem, label: "root certificate \(rootCertificate.displayName)")
            }
            let written = try files.commit()
            try WrittenFiles.report(written, json: false)
            if pin {
                print(leaf.spkiPin)
            }
            if written.isEmpty, !pin {
                print(leaf.pem, terminator: "")
            }
        }
    }
}

/// The root of a bundle's chain, or the exit-1 rejection naming the missing issuer.
enum RootLookup {
    static func root(of bundle: CertificateBundle, file: String) throws(CLIError) -> ParsedCertificate {
        switch ChainAnalysis.findRoot(bundle.certificates) {
        case .root(let root):
            return root
        case .incomplete(let last, let missingIssuer):
            throw CLIError.rejected(
                "no root in chain", file: file,
                why: "the chain stops at \(last.subject), whose issuer \(missingIssuer) is not in the file",
                hint: "add the issuer's certificate to the file (its CA publishes it), then run again"
            )
        case nil:
            throw CLIError(what: "no root in chain", file: file, why: "no certificate", status: .dataError)
        }
    }
}
