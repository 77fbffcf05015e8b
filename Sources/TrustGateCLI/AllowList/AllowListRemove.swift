import ArgumentParser
import Foundation
import TrustGateAllowList
import TrustGatePKI

extension AllowListCommand {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Remove an entry from a gateway's allow-list.",
            discussion: """
                SELECTOR is the entry's name, certificate SHA-256 or SPKI SHA-256 (hex or sha256/BASE64). A running \
                gateway stops accepting the backend within a second and closes its pooled connections to it.

                EXAMPLES:
                  trustgate allowlist remove --gateway g1 backend.test
                """
        )

        @OptionGroup var gateway: GatewayOption

        @Argument(help: "Name or fingerprint of the entry.")
        var selector: String

        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            let store = try storeOptions.open()
            do {
                let entry = try store.remove(gateway: gateway.gateway, selector: selector, actor: Actor.current)
                let version = try store.version(gateway: gateway.gateway)
                print("removed \(entry.name) (\(entry.kind.rawValue)) from gateway \(gateway.gateway), version \(version)")
            } catch {
                throw CLIError(error, what: "cannot remove")
            }
        }
    }
}
