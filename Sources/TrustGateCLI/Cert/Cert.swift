import ArgumentParser

/// `trustgate cert`: make, convert, inspect and export certificates.
public struct Cert: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cert",
        abstract: "Create, inspect and export certificates and keys.",
        discussion: """
            Inputs are detected from their content, not their name: PEM (any number of certificates and keys, \
            CRLF or a byte-order mark included), binary DER, and Base64 .cer files with or without armour lines. \
            Private keys are read as PKCS#8, SEC1 or PKCS#1 and written as PKCS#8 PEM, mode 0600.

            EXAMPLES:
              trustgate cert testpki ./testpki
              trustgate cert create backend.test --san 10.0.0.4 --profile leaf \\
                  --ca-cert testpki/intermediate-ca.pem --ca-key testpki/intermediate-ca.key
              trustgate cert inspect backend.pem --json
              trustgate cert export backend.pem --cer backend.cer --pin
            """,
        subcommands: [
            Create.self, TestPKICommand.self, Convert.self, Inspect.self, Export.self, Root.self, Pin.self, Verify.self,
            Lint.self,
        ]
    )

    public init() {}
}

/// `--force`, shared by every command that writes files.
struct OverwriteOptions: ParsableArguments {
    @Flag(help: "Replace output files that already exist.")
    var force = false
}

/// `--json`, shared by every command that prints data.
struct JSONOptions: ParsableArguments {
    @Flag(help: "Print machine-readable JSON (a stable schema: keys are only ever added).")
    var json = false
}
