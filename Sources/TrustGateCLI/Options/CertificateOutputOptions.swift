import ArgumentParser
import TrustGatePKI

/// `--cer` and `--cer-base64`: the certificate alone, in the two forms Windows, Azure and Java take it.
struct CertificateOutputOptions: ParsableArguments {
    @Option(help: "Write the certificate (the leaf) alone as DER (.cer).")
    var cer: String?

    @Option(help: "Write the certificate (the leaf) alone as Base64 .cer (PEM armour, CRLF line ends).")
    var cerBase64: String?

    /// Adds the files asked for, each holding `certificate`.
    func add(_ certificate: ParsedCertificate, to files: inout OutputFiles) throws(CLIError) {
        if let cer { try files.add(cer, certificate.der, label: "certificate, DER .cer") }
        if let cerBase64 {
            try files.add(cerBase64, text: CertificateEncoding.base64CER(certificate), label: "certificate, Base64 .cer")
        }
    }
}
