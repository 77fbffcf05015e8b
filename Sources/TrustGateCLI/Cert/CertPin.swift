import ArgumentParser
import TrustGatePKI

extension Cert {
    struct Pin: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pin",
            abstract: "Print the SPKI pin of every certificate and key in a file.",
            discussion: """
                The pin is the SHA-256 of the DER SubjectPublicKeyInfo, printed as sha256/BASE64 (curl \
                --pinnedpubkey, HPKP, Envoy, OkHttp) and as hex (openssl dgst output), labelled with the \
                certificate's name and role. It equals

                  openssl x509 -in CERT -pubkey -noout | openssl pkey -pubin -outform DER \\
                      | openssl dgst -sha256 -binary | base64

                EXAMPLES:
                  trustgate cert pin backend.pem
                  trustgate cert pin backend.pem --json
                """
        )

        @Argument(help: "A certificate, chain or key file.")
        var input: String

        @OptionGroup var passwords: InputPasswordOptions
        @OptionGroup var output: JSONOptions

        func run() throws {
            let pins = SPKIPin.pins(of: try InputFile.bundle(input, passwords: passwords))
            if output.json {
                try JSONOutput.print(pins)
                return
            }
            for pin in pins {
                print(pin.label)
                print("  \(pin.pin)")
                print("  hex: \(pin.hex)")
            }
        }
    }
}
