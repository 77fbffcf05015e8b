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

    struct Gateways: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gateways",
            abstract: "List the gateways that have allow-lists, with their versions.",
            discussion: """
                EXAMPLES:
                  trustgate allowlist gateways
                  trustgate allowlist gateways --json --store /var/lib/trustgate/store.sqlite
                """
        )

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: JSONOptions

        func run() throws {
            let store = try storeOptions.open()
            let gateways: [GatewaySummary]
            do {
                gateways = try store.gateways()
            } catch {
                throw CLIError(error, what: "cannot read the store")
            }
            if output.json {
                try JSONOutput.print(gateways)
                return
            }
            for summary in gateways {
                print("\(summary.name)  version \(summary.version)  \(summary.entries) entr\(summary.entries == 1 ? "y" : "ies")")
            }
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "Show the audit trail: who changed which allow-list, when, and how.",
            discussion: """
                JSON OUTPUT: [{"gateway", "at", "actor", "action": add|remove|import, "entry", "detail", "version"}].

                EXAMPLES:
                  trustgate allowlist history --gateway g1
                  trustgate allowlist history --json
                """
        )

        @Option(help: "Only this gateway's changes.")
        var gateway: String?

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: JSONOptions

        func run() throws {
            let store = try storeOptions.open()
            let records: [HistoryRecord]
            do {
                records = try store.history(gateway: gateway)
            } catch {
                throw CLIError(error, what: "cannot read the history")
            }
            if output.json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                encoder.dateEncodingStrategy = .iso8601
                if let data = try? encoder.encode(records) { print(String(decoding: data, as: UTF8.self)) }
                return
            }
            for record in records {
                print("\(RFC3339.format(record.at))  \(record.gateway) v\(record.version)  \(record.actor)  \(record.action) \(record.entry ?? "")  \(record.detail)")
            }
        }
    }
}
