import ArgumentParser
import Foundation
import TrustGateAllowList
import TrustGatePKI

extension AllowListCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List a gateway's allow-list.",
            discussion: """
                One line per entry: name, kind, subject, certificate notAfter, and the SHA-256 (certificate, or \
                key for spki-pin entries). JSON OUTPUT: {"gateway", "version", "entries": [{"name", "kind", \
                "subject", "certificateSha256", "spkiSha256", "spkiPin", "nextSpkiSha256", "certificateNotAfter", \
                "expiresAt", "addedBy", "addedAt"}]}.

                EXAMPLES:
                  trustgate allowlist list --gateway g1
                  trustgate allowlist list --gateway g1 --json
                """
        )

        @OptionGroup var gateway: GatewayOption
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: JSONOptions

        struct Report: Encodable {
            var gateway: String
            var version: Int64
            var entries: [EntryReport]
        }

        func run() throws {
            let store = try storeOptions.open()
            let entries: [AllowListEntry]
            let version: Int64
            do {
                entries = try store.entries(gateway: gateway.gateway)
                version = try store.version(gateway: gateway.gateway)
            } catch {
                throw CLIError(error, what: "cannot read the allow-list")
            }
            if output.json {
                try JSONOutput.print(Report(gateway: gateway.gateway, version: version, entries: entries.map { EntryReport($0) }))
                return
            }
            print("gateway \(gateway.gateway), version \(version), \(entries.count) entr\(entries.count == 1 ? "y" : "ies")")
            for entry in entries {
                let fingerprint = entry.kind == .spkiPin ? entry.spkiPin : "sha256 \(entry.certificateSHA256 ?? "-")"
                let notAfter = entry.certificateNotAfter.map { "until " + RFC3339.format($0) } ?? ""
                print("  \(entry.name)  \(entry.kind.rawValue)  \(entry.subject ?? "-")  \(notAfter)  \(fingerprint)")
            }
        }
    }
}
