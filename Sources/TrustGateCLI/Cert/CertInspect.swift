import ArgumentParser
import TrustGatePKI

extension Cert {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inspect",
            abstract: "Show every certificate and key in a file.",
            discussion: """
                For each certificate: subject, issuer, serial, validity, SHA-256 fingerprint, SPKI SHA-256 and \
                pin, CA flag, role in the chain, subject alternative names, key type and size, and signature \
                algorithm; then whether the file holds a private key (never the key itself). For a PKCS#12 file, \
                also how each part is encrypted (algorithm, cipher, PBKDF2 PRF, iterations), its MAC, and which \
                platforms open it: OpenSSL 3 with and without the legacy provider, Java 8 before 8u301, Java \
                8u301+/11+, Windows Server 2016, Windows Server 2019+, and the macOS Keychain up to macOS 14.

                The file is read tolerantly, to show what it holds: text and RFC 1421 headers are skipped, and a \
                part TrustGate cannot use is listed after the certificates instead of refusing the file (an \
                encrypted, DSA or otherwise unsupported key, described by algorithm and size where it can be; a \
                CSR or another block; a certificate that is not strict DER, with its SHA-256). Every other \
                command reads strictly and refuses such certificates. Exit status: 0 when every certificate was \
                read; 65, after printing everything readable, when a certificate could not be or a block is \
                truncated or not Base64, and when nothing in the file could be read at all.

                JSON OUTPUT (stable; keys are only ever added): {"file", "format": pem|der|base64|pkcs12, \
                "certificates": [{"subject", "issuer", "serial" (hex), "notBefore", "notAfter" (RFC 3339 UTC), \
                "sha256", "spkiSha256" (hex), "spkiPin" (sha256/BASE64), "isCA", "role": \
                leaf|intermediate|root|self-signed, "subjectAltNames": ["DNS:NAME", "IP:ADDRESS"], "keyType": \
                EC|RSA|RSA-PSS|Ed25519|Ed448|DSA or the OID, "keySize", "curve", "signatureAlgorithm", "unusableReason"}], \
                "hasPrivateKey", "privateKeys": [{"keyType", "keySize", "curve", "matchesCertificate"}], and for a \
                PFX "pkcs12": {"bags": [{"contents", "encryption", "cipher", "prf", "iterations"}], "mac": \
                {"algorithm", "iterations"}, "opensIn": {"openssl3", "openssl3Legacy", "java8Before301", \
                "java8u301AndJava11", "windowsServer2016", "windowsServer2019", "macOSKeychain"}}}. Keys whose value \
                does not apply are absent. Parts not read are in "unreadable": [{"kind": \
                certificate|privateKey|other, "position" (the PEM block, from 1), "label", "reason", "keyType", \
                "keySize", "curve", "sha256", "brokenEncoding"}].

                EXAMPLES:
                  trustgate cert inspect backend.pem
                  trustgate cert inspect backend.cer --json | jq -r '.certificates[0].notAfter'
                  trustgate cert inspect listener.pfx --password-file listener.pass
                """
        )

        @Argument(help: "The file to inspect: PEM, DER, Base64 .cer, PKCS#12 (.pfx/.p12), or a key.")
        var file: String

        @OptionGroup var passwords: InputPasswordOptions
        @OptionGroup var output: JSONOptions

        func run() throws {
            let bundle = try InputFile.bundle(file, passwords: passwords, tolerant: true)
            let report = InspectionReport(file: file, bundle: bundle)
            if output.json {
                try JSONOutput.print(report)
            } else {
                printText(report)
            }
            // Everything readable has been shown; a certificate that could not be, or a broken block, is still
            // a defect of the file.
            let defects = report.unreadable.filter(\.isDefect)
            if let first = defects.first {
                throw CLIError(
                    what: "cannot read every part", file: file,
                    why: defects.count == 1 ? first.description : "\(first.description), and \(defects.count - 1) more",
                    status: .dataError
                )
            }
        }

        private func printText(_ report: InspectionReport) {
            let file = report.file
            let count = report.certificates.count
            print(
                "\(file): \(report.format.uppercased()), \(count) certificate\(count == 1 ? "" : "s"), "
                    + (report.hasPrivateKey ? "with private key" : "no private key")
            )
            for (index, certificate) in report.certificates.enumerated() {
                print("[\(index + 1)] \(certificate.role)")
                field("subject", certificate.subject)
                field("issuer", certificate.issuer)
                field("serial", certificate.serial)
                field("not before", certificate.notBefore)
                field("not after", certificate.notAfter)
                field("SANs", certificate.subjectAltNames.isEmpty ? "(none)" : certificate.subjectAltNames.joined(separator: ", "))
                field("key", certificate.curve.map { "\(certificate.keyType) \($0)" } ?? "\(certificate.keyType) \(certificate.keySize)")
                field("signature", certificate.signatureAlgorithm)
                field("CA", certificate.isCA ? "yes" : "no")
                field("sha256", certificate.sha256)
                field("spki sha256", certificate.spkiSha256)
                field("pin", certificate.spkiPin)
                if let reason = certificate.unusableReason { field("unusable", reason) }
            }
            if let pkcs12 = report.pkcs12 {
                print("PKCS#12 container")
                for bag in pkcs12.bags {
                    let kdf = [bag.prf, bag.iterations.map { "\($0) iterations" }].compactMap { $0 }
                    let details = kdf.isEmpty ? "" : " (" + kdf.joined(separator: ", ") + ")"
                    field(bag.contents, "\(bag.encryption), \(bag.cipher)\(details)")
                }
                field("MAC", pkcs12.mac.map { "\($0.algorithm), \($0.iterations) iterations" } ?? "none")
                print("opens in")
                for platform in pkcs12.opensIn.platforms {
                    print("  \(platform.opens ? "yes" : "no ")  \(platform.name)")
                }
            }
            for (index, key) in report.privateKeys.enumerated() {
                let owner = key.matchesCertificate.map { "matches certificate [\($0 + 1)]" } ?? "matches no certificate here"
                let kind = key.curve.map { "\(key.keyType) \($0)" } ?? "\(key.keyType) \(key.keySize)"
                print("private key \(index + 1): \(kind), \(owner)")
            }
            for part in report.unreadable {
                switch part.kind {
                case .certificate:
                    print("unreadable certificate (block \(part.position)): \(part.reason)")
                    if let sha256 = part.sha256 { field("sha256", sha256) }
                case .privateKey:
                    let what = part.key.map { "\($0), " } ?? ""
                    print("private key (block \(part.position)): \(what)not usable: \(part.reason)")
                case .other:
                    print("\(part.label) (block \(part.position)): not read: \(part.reason)")
                }
            }
        }

        private func field(_ name: String, _ value: String) {
            print("  " + (name + ":").padding(toLength: 14, withPad: " ", startingAt: 0) + value)
        }
    }
}
