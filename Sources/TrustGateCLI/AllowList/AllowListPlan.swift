import ArgumentParser
import Foundation
import TrustGateAllowList
import TrustGateGateway
import TrustGatePKI

extension AllowListCommand {
    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Dry run of an allow-list change: which live backends would it turn away?",
            discussion: """
                Probes every backend the configuration routes to (as gateway backend-health does: the gateway's \
                own SNI, expected name and trust mode), then judges each presented chain twice with the one \
                evaluator: under the allow-list as it is, and as it would be after --add FILE (registered as \
                allowlist add would) or --remove NAME (a name or fingerprint, as allowlist remove takes). Each \
                backend is listed with both categories and what the change does to it: breaks, fixes or \
                unchanged; backends that cannot be reached are not judged. Nothing is written unless --apply is \
                given and nothing breaks. Exit 0 when nothing breaks (and, with --apply, the change is \
                committed), 1 when a backend would be turned away or the allow-list changed meanwhile.

                EXAMPLES:
                  trustgate allowlist plan --gateway g1 --config gateway.yaml --remove old-root
                  trustgate allowlist plan --gateway g1 --config gateway.yaml --add new-root.pem --apply
                """
        )

        @OptionGroup var gateway: GatewayOption

        @Option(help: "The gateway's configuration (YAML): its backends are the ones judged.")
        var config: String

        @Option(help: "Plan registering this certificate (as allowlist add would, with --name and --as).")
        var add: String?

        @OptionGroup var naming: EntryNaming

        @Option(help: "Plan removing this entry (name or fingerprint).")
        var remove: String?

        @Flag(help: "Commit the change when no backend would break.")
        var apply = false

        @Option(help: "Seconds each whole probe may take: connect, handshake and response.", transform: Seconds.parse)
        var timeout: TimeInterval = 10

        @Option(help: "Judge every backend under this verification profile (default: each backend setting's own).")
        var profile: VerificationProfile?

        @OptionGroup var passwords: InputPasswordOptions
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: JSONOptions

        func validate() throws {
            guard (add == nil) != (remove == nil) else { throw ValidationError("give exactly one of --add and --remove") }
            guard add != nil || (naming.kind == nil && naming.name == nil) else { throw ValidationError("--as and --name go with --add") }
        }

        struct Report: Codable {
            var gateway: String
            var version: Int64
            var change: String
            var rows: [AllowListPlan.Row]
            var breaks: Int
            var applied: Bool
        }

        func run() async throws {
            let configuration = try GatewayCommand.loadConfiguration(config)
            guard configuration.gateway == gateway.gateway else {
                throw CLIError.usage("\(config) configures gateway \(configuration.gateway), not \(gateway.gateway)")
            }
            let store = try GatewayCommand.openStore(storeOptions.store ?? configuration.store)
            let state = try GatewayCommand.allowListState(for: configuration, store: store)
            // Every entry, also those past their own expiry (the policy leaves them out, a removal may name them).
            let current = try readEntries(of: gateway.gateway, in: store)
            let (candidate, change, entry) = try candidateEntries(current)
            let plan: AllowListPlan
            do {
                plan = try await AllowListPlan.make(configuration, state: state, candidate: candidate, timeout: timeout,
                                                    profile: profile)
            } catch {
                throw CLIError(what: "cannot probe the backends", file: config, why: "\(error)", status: .software)
            }
            let breaks = plan.breaks
            var applied = false
            if apply, breaks == 0 {
                try commit(store: store, entry: entry, expectedVersion: state.version)
                applied = true
            }
            let report = Report(gateway: gateway.gateway, version: state.version, change: change, rows: plan.rows,
                                breaks: breaks, applied: applied)
            if output.json {
                try JSONOutput.print(report)
            } else {
                Self.print(report, unjudged: plan.unjudged, apply: apply)
            }
            if breaks > 0 { throw ExitCode(CLIError.ExitStatus.rejected.rawValue) }
        }

        /// The allow-list after the change, the change in words, and the entry added or removed.
        private func candidateEntries(_ current: [AllowListEntry]) throws(CLIError)
            -> ([AllowListEntry], String, AllowListEntry)
        {
            if let remove {
                guard let entry = current.first(where: { $0.name == remove }) ?? current.first(where: { $0.isSelected(by: remove) })
                else {
                    throw CLIError(
                        AllowListError.notFound("gateway \(gateway.gateway) has no entry named or fingerprinted \(remove)",
                                                hint: "see `trustgate allowlist list --gateway \(gateway.gateway)`"),
                        what: "cannot plan"
                    )
                }
                return (current.filter { $0 != entry }, "remove \(entry.name) (\(entry.kind.rawValue))", entry)
            }
            let file = add ?? ""
            let bundle = try InputFile.bundle(file, passwords: passwords)
            let registration = EntryRegistration(gateway: gateway.gateway, name: naming.name, kind: naming.kind)
            let entry: AllowListEntry
            do {
                entry = try registration.entry(from: bundle, file: file, actor: Actor.current)
            } catch {
                throw CLIError(error, what: "cannot plan")
            }
            return (current + [entry], "add \(entry.name) (\(entry.kind.rawValue))", entry)
        }

        /// Commits the planned change, unless the allow-list moved since it was read.
        private func commit(store: any AllowListStore, entry: AllowListEntry, expectedVersion: Int64) throws(CLIError) {
            // The version check and the write are one transaction: nothing can change the list in between.
            do {
                if remove != nil {
                    try store.remove(gateway: gateway.gateway, selector: entry.name, actor: Actor.current,
                                     ifVersion: expectedVersion)
                } else {
                    _ = try store.add(entry, ifVersion: expectedVersion)
                }
            } catch where error.code == .versionConflict {
                throw CLIError(what: "not applied", why: "the allow-list of gateway \(gateway.gateway) changed while "
                    + "planning; run the plan again", status: .rejected)
            } catch {
                throw CLIError(error, what: "cannot apply")
            }
        }

        private static func print(_ report: Report, unjudged: Int, apply: Bool) {
            Swift.print("plan for gateway \(report.gateway) (allow-list version \(report.version)): \(report.change)")
            for row in report.rows {
                let change = row.after.map { "\(row.now) -> \($0)" } ?? row.now
                Swift.print("  \(row.effect.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(row.pool) \(row.member) "
                    + "(\(row.expectedName ?? "-")): \(change)" + (row.effect == .unchanged ? "" : ": \(row.detail)"))
            }
            // Routed backends that presented nothing (down, plain HTTP) were not judged: say so, they may break later.
            let caveat = unjudged == 0 ? "" : " (\(unjudged) not judged: they presented no certificate)"
            if report.breaks > 0 {
                Swift.print("\(report.breaks) backend\(report.breaks == 1 ? "" : "s") would be turned away\(caveat); nothing written")
            } else if report.applied {
                Swift.print("no backend breaks\(caveat); applied")
            } else {
                Swift.print("no backend breaks\(caveat)" + (apply ? "" : "; nothing written (add --apply to commit)"))
            }
        }
    }
}
