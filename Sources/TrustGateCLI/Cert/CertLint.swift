import ArgumentParser
import Foundation
import TrustGatePKI

extension Cert {
    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lint",
            abstract: "Check certificates for what breaks private and gateway PKIs.",
            discussion: """
                Errors (exit 1): no SAN or a CN-only certificate (no-san, cn-only), a SAN that does not match \
                --hostname (hostname-mismatch), a certificate that issues others without CA:TRUE \
                (ca-not-marked) or keyCertSign (ca-no-keycertsign), an RSA key under 2048 bits (weak-key), a \
                SHA-1 or MD5 signature (weak-signature), a certificate valid beyond its issuer (outlives-issuer), \
                expired or not yet valid, and every RFC 5280 or CA/Browser Forum server-profile rule the \
                gateway's default strict verification enforces, named by its rule (serial-zero, serial-too-long, \
                missing-aki, missing-ski, root-aki-mismatch, ca-basic-constraints-not-critical, leaf-keycertsign, \
                leaf-no-eku, leaf-any-eku, leaf-critical-eku, eku-mixed-purpose, root-eku, cn-not-in-san, \
                ca-as-leaf, invalid-dns-san, rsa-modulus-size, not-v3 and the others) with its reference, whether the \
                compatible profile accepts it, and the trustgate cert create command that reissues the \
                certificate. Warnings (exit 0): expiring within --expiry-warning-days (expiring-soon, default \
                30), a leaf valid for more than 398 days (long-validity).

                JSON OUTPUT: {"file", "errors", "warnings", "findings": [{"severity", "check", "certificate", \
                "message"}]}.

                EXAMPLES:
                  trustgate cert lint backend.pem --hostname backend.test
                  trustgate cert lint fullchain.pem --json
                """
        )

        @Argument(help: "A certificate or chain (PEM, DER or PFX).")
        var input: String

        @Option(help: "The host name the leaf must be valid for.")
        var hostname: String?

        @Option(help: "Warn when a certificate expires within this many days.")
        var expiryWarningDays: Int = 30

        @OptionGroup var passwords: InputPasswordOptions
        @OptionGroup var output: JSONOptions

        struct Report: Encodable {
            var file: String
            var errors: Int
            var warnings: Int
            var findings: [LintFinding]
        }

        func run() throws {
            let certificates = try InputFile.certificates(input, passwords: passwords).certificates
            let findings = CertificateLinter.lint(
                certificates, hostname: hostname.map(ServerIdentity.init), expiryWarningDays: expiryWarningDays
            )
            let errors = findings.filter { $0.severity == .error }.count
            if output.json {
                try JSONOutput.print(Report(file: input, errors: errors, warnings: findings.count - errors,
                                            findings: findings))
            } else {
                for finding in findings { print(finding.description) }
                print("\(input): \(errors) error\(errors == 1 ? "" : "s"), \(findings.count - errors) warning\(findings.count - errors == 1 ? "" : "s")")
            }
            if errors > 0 { throw ExitCode(CLIError.ExitStatus.rejected.rawValue) }
        }
    }
}
