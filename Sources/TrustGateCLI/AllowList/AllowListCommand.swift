import ArgumentParser
import Foundation
import TrustGateAllowList
import TrustGatePKI

/// `trustgate allowlist`: register certificates with a gateway.
public struct AllowListCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "allowlist",
        abstract: "Register backend certificates with a gateway: pinned certificates, trusted roots, SPKI pins.",
        discussion: """
            Each gateway has an allow-list in the store: --store PATH or URL, else $TRUSTGATE_STORE, else \
            $XDG_DATA_HOME/trustgate/store.sqlite (~/.local/share/trustgate/store.sqlite). A fleet of gateways \
            shares a PostgreSQL store, --store 'postgres://USER@HOST:PORT/DB?sslrootcert=ROOTS.pem&password-file=F' \
            (see trustgate store --help). Every change is one \
            transaction, on disk before the command returns, recorded in the history, and raises the gateway's \
            version, which a running gateway watches. Entries are pinned (a backend's own certificate, Azure v1 \
            authentication certificate), trusted-root (Azure v2 trusted root) or spki-pin (a public-key pin at \
            any level of the chain, which survives a renewal that keeps the key).

            Exit status: 0 done/accepted; 1 refused or rejected (also a PostgreSQL store whose certificate is not \
            trusted, naming the category); 64 usage; 65 unreadable input or store, or the store refused the login; \
            66 input missing; 74 store cannot be reached or written.

            EXAMPLES:
              trustgate cert export backend.pem --cer backend.cer
              trustgate allowlist add --gateway g1 backend.cer
              trustgate allowlist add --gateway g1 root-ca.pem --as trusted-root
              trustgate allowlist check --gateway g1 --chain backend.pem --hostname backend.test
              trustgate allowlist list --gateway g1
            """,
        subcommands: [Add.self, List.self, Show.self, Remove.self, Gateways.self, Check.self, Export.self, Import.self,
                      History.self, Plan.self]
    )

    public init() {}
}

/// `--store`, shared by every allow-list command.
struct StoreOptions: ParsableArguments {
    @Option(help: "The store: an SQLite file path or a postgres:// URL (default: $TRUSTGATE_STORE, else the user's data directory).")
    var store: String?

    func open() throws(CLIError) -> any AllowListStore {
        do {
            return try StoreLocation.open(store)
        } catch {
            throw CLIError(error, what: "cannot open the allow-list store")
        }
    }
}

/// Every entry of `gateway` in `store` (also those past their own expiry), a read failure reported as the CLI
/// reports it.
func readEntries(of gateway: String, in store: any AllowListStore) throws(CLIError) -> [AllowListEntry] {
    do {
        return try store.entries(gateway: gateway)
    } catch {
        throw CLIError(error, what: "cannot read the allow-list")
    }
}

/// `--name` and `--as` of an entry being registered (`allowlist add`, `allowlist plan --add`).
struct EntryNaming: ParsableArguments {
    @Option(help: "The entry's name (default: the certificate's CN).")
    var name: String?

    @Option(name: .customLong("as"), help: "What the entry trusts (default: detected).")
    var kind: EntryKind?
}

/// `--gateway`, required by the per-gateway commands.
struct GatewayOption: ParsableArguments {
    @Option(help: "The gateway whose allow-list this is.")
    var gateway: String
}

extension CLIError {
    /// An allow-list error, attributed to what the command was doing.
    init(_ error: AllowListError, what: String) {
        let status: ExitStatus
        switch error.code {
        case .refused, .notFound, .versionConflict, .storeUntrusted: status = .rejected
        case .storeUnreadable, .invalidDocument, .storeAccessDenied: status = .dataError
        case .unsupportedStore: status = .usage
        default: status = .ioError
        }
        self.init(what: what, file: error.file, why: error.reason, hint: error.hint, status: status)
    }
}

/// Who is changing the allow-list, for the history: the login name.
enum Actor {
    static var current: String {
        if let user = ProcessInfo.processInfo.environment["USER"], !user.isEmpty { return user }
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return "uid \(getuid())"
    }
}

extension EntryKind: ExpressibleByArgument {}
extension TrustMode: ExpressibleByArgument {}
