import ArgumentParser
import Foundation
import TrustGateAllowList

/// `trustgate store`: the allow-list store itself.
public struct StoreCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "The allow-list store: its status, and copying it between SQLite and PostgreSQL.",
        discussion: """
            A store is an SQLite file (the default; one machine) or a PostgreSQL database (a fleet of gateways), \
            named by a path or by postgres://USER@HOST:PORT/DB?sslmode=verify-full&sslrootcert=ROOTS.pem. The \
            PostgreSQL password comes from password-file=FILE or password-env=VAR in the URL, or from \
            $PGPASSFILE / ~/.pgpass (mode 0600), never from argv. TLS to PostgreSQL is verified by TrustGate's own \
            evaluator: sslmode=verify-full (the default) checks the chain to sslrootcert (a PEM file, or system) and \
            the host name; verify-ca the chain only; require encrypts without authenticating; disable is plain TCP.

            Exit status: 0 done; 1 refused, or the store's certificate is not trusted (the reason names its \
            category, such as untrusted-root or hostname-mismatch); 64 usage; 65 unreadable store or login refused; 74 \
            store unreachable or not writable.

            EXAMPLES:
              trustgate store status
              trustgate store status --store 'postgres://tg@db.internal:5432/trustgate?sslrootcert=/etc/trustgate/db-root.pem&password-file=/etc/trustgate/db.pass' --json
              trustgate store copy --from ~/.local/share/trustgate/store.sqlite --to "$FLEET_STORE"
            """,
        subcommands: [Status.self, Copy.self]
    )

    public init() {}
}

extension StoreCommand {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Which store, its schema version, its gateways with versions and entry counts, and its health.",
            discussion: """
                Exits 0 when the store answers; otherwise prints what it knows and exits with the failure's status.

                EXAMPLES:
                  trustgate store status
                  trustgate store status --json --store "$FLEET_STORE"
                """
        )

        @Option(help: "The store: a path or a postgres:// URL (default: $TRUSTGATE_STORE, else the user's data directory).")
        var store: String?
        @OptionGroup var output: JSONOptions

        func run() throws {
            let (status, error) = StoreStatus.read(store)
            if output.json {
                try JSONOutput.print(status)
            } else {
                print("store: \(status.kind) \(status.location)")
                if let error = status.error {
                    print("health: unreachable or unreadable: \(error)")
                } else {
                    print("health: ok")
                }
                if let version = status.schemaVersion {
                    print("schema: version \(version) (this trustgate writes \(status.supportedSchemaVersion))")
                }
                for summary in status.gateways {
                    print("gateway \(summary.name)  version \(summary.version)  \(summary.entries) entr\(summary.entries == 1 ? "y" : "ies")")
                }
            }
            if let error { throw CLIError(error, what: "cannot read the store") }
        }
    }

    struct Copy: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "copy",
            abstract: "Copy every gateway's allow-list, version and history from one store into another.",
            discussion: """
                SQLite to PostgreSQL, PostgreSQL to SQLite, or between two of a kind. Each gateway is copied in one \
                transaction and read back: its entries, version and history count must match the source's. A \
                target that already has one of the gateways is refused before anything is written. The source is \
                only read.

                EXAMPLES:
                  trustgate store copy --from store.sqlite --to "$FLEET_STORE"
                  trustgate store copy --from "$FLEET_STORE" --to backup.sqlite --json
                """
        )

        @Option(help: "The store to read: a path or a postgres:// URL (it must exist).")
        var from: String
        @Option(help: "The store to write: a path (created when missing) or a postgres:// URL.")
        var to: String
        @OptionGroup var output: JSONOptions

        func run() throws {
            let source: any AllowListStore
            let target: any AllowListStore
            if !PostgresStoreURL.isPostgres(from), !FileManager.default.fileExists(atPath: StoreLocation.sqlitePath(from)) {
                throw CLIError(what: "cannot open the source store", file: from, why: "no such file", status: .noInput)
            }
            do {
                source = try StoreLocation.open(from, mustExist: true)
            } catch {
                throw CLIError(error, what: "cannot open the source store")
            }
            do {
                target = try StoreLocation.open(to)
            } catch {
                throw CLIError(error, what: "cannot open the target store")
            }
            let started = ContinuousClock.now
            let copied: [StoreCopy.Copied]
            do {
                copied = try StoreCopy.copy(from: source, to: target)
            } catch {
                throw CLIError(error, what: "cannot copy the store")
            }
            let elapsed = ContinuousClock.now - started
            if output.json {
                try JSONOutput.print(copied)
                return
            }
            for gateway in copied {
                print("copied gateway \(gateway.gateway): \(gateway.entries) entries, version \(gateway.version), "
                      + "\(gateway.history) history records (verified)")
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("copied \(copied.count) gateway\(copied.count == 1 ? "" : "s") from \(source.location) to "
                  + "\(target.location) in \(String(format: "%.2f", seconds)) s")
        }
    }
}
