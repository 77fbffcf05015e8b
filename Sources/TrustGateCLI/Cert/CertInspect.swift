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
                algorithm; then whether the file holds a private key (never the key itself).

                JSON OUTPUT (stable; keys are only ever added): {"file", "format": pem|der|base64|pkcs12, \
                "certificates": [{"subject", "issuer", "serial" (hex), "notBefore", "notAfter" (RFC 3339 UTC), \
                "sha256", "spkiSha256" (hex), "spkiPin" (sha256/BASE64), "isCA", "role": \
                leaf|intermediate|root|self-signed, "subjectAltNames": ["DNS:…", "IP:…"], "keyType": \
                EC|RSA|Ed25519|…, "keySize", "curve", "signatureAlgorithm", "unusableReason"}], \
                "hasPrivateKey", "privateKeys": [{"keyType", "keySize", "curve", "matchesCertificate"}]}.

                EXAMPLES:
                  trustgate cert inspect backend.pem
                  trustgate cert inspect backend.cer --json | jq -r '.certificates[0].notAfter'
                """
        )

        @Argument(help: "The file to inspect: PEM, DER, Base64 .cer, or a key.")
        var file: String

        @OptionGroup var output: JSONOptions

        func run() throws {
            let bundle = try InputFile.bundle(file)
            let report = InspectionReport(file: file, bundle: bundle)
            if output.json {
                try JSONOutput.print(report)
                return
            }
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
            for (index, key) in report.privateKeys.enumerated() {
                let owner = key.matchesCertificate.map { "matches certificate [\($0 + 1)]" } ?? "matches no certificate here"
                let kind = key.curve.map { "\(key.keyType) \($0)" } ?? "\(key.keyType) \(key.keySize)"
                print("private key \(index + 1): \(kind), \(owner)")
            }
        }

        private func field(_ name: String, _ value: String) {
            print("  " + (name + ":").padding(toLength: 13, withPad: " ", startingAt: 0) + value)
        }
    }
}
