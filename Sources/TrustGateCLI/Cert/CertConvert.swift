import ArgumentParser
import Foundation
import TrustGatePKI

extension PFXProfile: ExpressibleByArgument {}

extension Cert {
    struct Convert: ParsableCommand {
        /// The output formats.
        enum Target: String, CaseIterable, ExpressibleByArgument {
            case pem, der, cer
            case cerBase64 = "cer-base64"
            case pfx
        }

        static let configuration = CommandConfiguration(
            commandName: "convert",
            abstract: "Convert between PEM, DER, Base64 .cer and PKCS#12 (PFX).",
            discussion: """
                IN is detected from its content: PEM, DER, Base64 .cer or PKCS#12 in any real-world profile \
                (OpenSSL 3 AES, OpenSSL -legacy RC2-40, 3DES from Windows, Java keytool, GnuTLS certtool, macOS), \
                including empty-password and certificate-only files.

                --to pem writes the chain (leaf first) to OUT and, when IN holds a private key, the key as PKCS#8 \
                to --key-out (default: OUT with .key in place of .pem), mode 0600. --to der and --to cer write the \
                leaf as DER; --to cer-base64 as Base64 with CRLF line ends. --to pfx writes the chain and the key \
                (from IN or --key) as a PKCS#12 file, mode 0600, with --pfx-profile: modern (default; AES-256-CBC, \
                PBKDF2-HMAC-SHA256, SHA-256 MAC), compat (3DES and SHA-1 MAC: opens in OpenSSL 3 without \
                -legacy, Java 8, Windows Server 2016 and older macOS) or legacy (RC2-40 certificates, 3DES key, \
                SHA-1 MAC; only on request). PFX to PFX changes profile or password in one step.

                Passwords are never taken on the command line: --password-file, --password-env or \
                --password-fd for IN, --out-password-file, --out-password-env or --out-password-fd for a new PFX, \
                else a prompt on the terminal (twice for a new PFX). One trailing newline in a password file is \
                not part of the password; an empty file is an empty password.

                EXAMPLES:
                  trustgate cert convert backend.pfx --to pem --out backend.pem --password-file backend.pass
                  trustgate cert convert backend.pem --key backend.key --to pfx --out backend.pfx \\
                      --out-password-file new.pass --pfx-profile compat
                  trustgate cert convert old.pfx --to pfx --out new.pfx --password-file old.pass \\
                      --out-password-file new.pass
                  trustgate cert convert backend.pfx --to cer --out backend.cer --password-env PFX_PASSWORD
                """
        )

        @Argument(help: "The input file: PEM, DER, Base64 .cer or PKCS#12.")
        var input: String

        @Option(help: "The output format.")
        var to: Target

        @Option(help: "The output file.")
        var out: String

        @Option(help: "The private key of the leaf, when IN holds only certificates (for --to pfx).")
        var key: String?

        @Option(help: "Where --to pem writes the private key (default: OUT with .key).")
        var keyOut: String?

        @Option(help: "How a new PFX is protected.")
        var pfxProfile: PFXProfile = .modern

        @Option(help: "The friendlyName of the certificate and key in a new PFX (default: the leaf's CN).")
        var name: String?

        @OptionGroup var passwords: InputPasswordOptions
        @OptionGroup var outPasswords: OutputPasswordOptions
        @OptionGroup var overwrite: OverwriteOptions

        func run() throws {
            let bundle = try InputFile.certificates(input, passwords: passwords)
            let certificates = bundle.certificates
            guard let leaf = certificates.first else { return }
            var privateKey = bundle.privateKeys.first { $0.matches(leaf) } ?? bundle.privateKeys.first
            if let key {
                guard let loaded = try InputFile.bundle(key).privateKeys.first else {
                    throw CLIError(what: "cannot read key", file: key, why: "holds no private key", status: .dataError)
                }
                privateKey = loaded
            }
            var files = OutputFiles(force: overwrite.force)
            switch to {
            case .pem:
                try files.add(out, text: certificates.map(\.pem).joined(), label: "certificates, PEM")
                if let privateKey {
                    let keyPath = keyOut ?? Self.keyPath(for: out)
                    try files.add(keyPath, text: try pkcs8(privateKey), secret: true, label: "private key, PKCS#8")
                }
            case .der, .cer:
                try files.add(out, leaf.der, label: "certificate, DER")
            case .cerBase64:
                try files.add(out, text: CertificateEncoding.base64CER(leaf), label: "certificate, Base64 .cer")
            case .pfx:
                try files.addPFX(
                    out, certificates: certificates, key: privateKey, password: try outPasswords.resolve(),
                    profile: pfxProfile, friendlyName: name ?? leaf.displayName
                )
            }
            try WrittenFiles.report(try files.commit(), json: false)
        }

        private func pkcs8(_ key: PrivateKeyMaterial) throws(CLIError) -> String {
            do {
                return try key.pkcs8PEM()
            } catch {
                throw CLIError(error, what: "cannot encode key")
            }
        }

        static func keyPath(for out: String) -> String {
            let url = URL(fileURLWithPath: out)
            guard url.pathExtension.lowercased() == "pem" else { return out + ".key" }
            return (out as NSString).deletingPathExtension + ".key"
        }
    }
}
