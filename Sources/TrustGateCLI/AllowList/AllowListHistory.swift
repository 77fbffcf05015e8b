import ArgumentParser
import Foundation
import TrustGateAllowList
import TrustGatePKI

extension AllowListCommand {
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
