import ArgumentParser
import Foundation
import TrustGateAllowList
import TrustGatePKI

extension AllowListCommand {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Export a gateway's allow-list as a JSON document carrying the certificates.",
            discussion: """
                The document ({"format": "trustgate-allowlist/1", "gateway", "exportedAt", "entries": [{"name", \
                "kind", "certificate" (PEM), "spkiSha256", "nextSpkiSha256", "expiresAt"}]}) is what `allowlist \
                import` reads, on this store or another.

                EXAMPLES:
                  trustgate allowlist export --gateway g1 --out g1.json
                """
        )

        @OptionGroup var gateway: GatewayOption

        @Option(help: "Write to this file instead of standard output.")
        var out: String?

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var overwrite: OverwriteOptions

        func run() throws {
            let store = try storeOptions.open()
            let entries = try readEntries(of: gateway.gateway, in: store)
            let data: Data
            do {
                data = try AllowListDocument(gateway: gateway.gateway, entries: entries).encoded()
            } catch {
                throw CLIError(what: "cannot encode the document", why: "\(error)", status: .software)
            }
            guard let out else {
                print(String(decoding: data, as: UTF8.self))
                return
            }
            var files = OutputFiles(force: overwrite.force)
            try files.add(out, Array(data) + [0x0A], label: "allow-list of \(gateway.gateway), \(entries.count) entr\(entries.count == 1 ? "y" : "ies")")
            try WrittenFiles.report(try files.commit(), json: false)
        }
    }
}
