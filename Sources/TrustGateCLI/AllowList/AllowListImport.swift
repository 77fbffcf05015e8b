import ArgumentParser
import Foundation
import TrustGateAllowList
import TrustGatePKI

extension AllowListCommand {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import an exported allow-list: everything validated first, then all or nothing.",
            discussion: """
                Every entry is checked before anything is written (certificates parse, fingerprints match, names \
                are unique, trusted roots are self-signed CAs); then all entries go in in one transaction. An entry \
                the gateway already has refuses the whole import. --gateway imports into another gateway than the \
                document's.

                EXAMPLES:
                  trustgate allowlist import g1.json
                  trustgate allowlist import g1.json --gateway g2 --store /var/lib/trustgate/store.sqlite
                """
        )

        @Argument(help: "A document written by `allowlist export`.")
        var file: String

        @Option(help: "Import into this gateway instead of the document's.")
        var gateway: String?

        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            let data = Data(try InputFile.read(file))
            do {
                let document = try AllowListDocument.decode(data, file: file)
                let target = gateway ?? document.gateway
                guard EntryRegistration.isValidGatewayName(target) else {
                    throw AllowListError.invalidDocument("'\(target)' is not a gateway name", file: file)
                }
                let entries = try document.storeEntries(gateway: target, actor: Actor.current, file: file)
                let store = try storeOptions.open()
                let version = try store.importEntries(entries, gateway: target, actor: Actor.current)
                print("imported \(entries.count) entr\(entries.count == 1 ? "y" : "ies") into gateway \(target), version \(version)")
            } catch let error as AllowListError {
                throw CLIError(error, what: "cannot import")
            }
        }
    }
}
