import ArgumentParser
import Foundation
import TrustGateAllowList
import TrustGatePKI

extension AllowListCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show one entry of a gateway's allow-list.",
            discussion: """
                SELECTOR is the entry's name, its certificate SHA-256, or its SPKI SHA-256 (hex or sha256/BASE64); \
                fingerprints are looked up through the store's index. --pem prints the certificate.

                EXAMPLES:
                  trustgate allowlist show --gateway g1 backend.test
                  trustgate allowlist show --gateway g1 sha256/yXYtRnbXtXD852gIoYqqFjhsUAAH+pvXiT/T8lsmHEU= --pem
                """
        )

        @OptionGroup var gateway: GatewayOption

        @Argument(help: "Name or fingerprint of the entry.")
        var selector: String

        @Flag(help: "Print the entry's certificate as PEM.")
        var pem = false

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: JSONOptions

        func run() throws {
            let store = try storeOptions.open()
            var found: AllowListEntry?
            do throws(AllowListError) {
                found = try store.entries(gateway: gateway.gateway).first { $0.name == selector }
                if found == nil { found = try store.entry(gateway: gateway.gateway, fingerprint: selector) }
            } catch {
                throw CLIError(error, what: "cannot read the allow-list")
            }
            guard let entry = found else {
                throw CLIError.rejected("no such entry", why: "gateway \(gateway.gateway) has no entry \(selector)",
                                        hint: "see `trustgate allowlist list --gateway \(gateway.gateway)`")
            }
            if output.json {
                try JSONOutput.print(EntryReport(entry))
            } else if pem, let certificate = entry.certificatePEM {
                print(certificate, terminator: "")
            } else {
                let report = EntryReport(entry)
                for (key, value) in [("name", report.name), ("kind", report.kind), ("subject", report.subject ?? "-"),
                                     ("sha256", report.certificateSha256 ?? "-"), ("spki pin", report.spkiPin),
                                     ("next pin", entry.nextSPKISHA256.map { _ in "staged" } ?? "-"),
                                     ("not after", report.certificateNotAfter ?? "-"), ("expires", report.expiresAt ?? "never"),
                                     ("added by", report.addedBy), ("added at", report.addedAt)] {
                    print((key + ":").padding(toLength: 11, withPad: " ", startingAt: 0) + value)
                }
            }
        }
    }
}
