import ArgumentParser
import Foundation
import TrustGateAllowList
import TrustGatePKI

extension AllowListCommand {
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
}
