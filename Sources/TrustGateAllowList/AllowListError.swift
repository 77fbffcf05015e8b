/// The one error type of the allow-list layer. `refused` is a well-formed request that the allow-list does not
/// allow (exit 1); the others are about the store itself.
public struct AllowListError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Backing: Hashable, Sendable {
            case refused, notFound, versionConflict, storeUnreadable, storeUnwritable, invalidDocument, unsupportedStore
            case storeUnreachable, storeUntrusted, storeAccessDenied
        }
        fileprivate var backing: Backing

        /// The change is not allowed (duplicate, private key, wrong kind, expired): exit 1.
        public static let refused = Code(backing: .refused)
        /// No such gateway or entry: exit 1.
        public static let notFound = Code(backing: .notFound)
        /// A change made only at a given allow-list version found another one: exit 1.
        public static let versionConflict = Code(backing: .versionConflict)
        /// The store file is not an SQLite database, or is corrupt: exit 65. It is never repaired or overwritten.
        public static let storeUnreadable = Code(backing: .storeUnreadable)
        /// The store cannot be created or written (permissions, read-only place, disk full): exit 74.
        public static let storeUnwritable = Code(backing: .storeUnwritable)
        /// An import document is not valid: exit 65.
        public static let invalidDocument = Code(backing: .invalidDocument)
        /// The store URL names a kind of store this build does not have: exit 64.
        public static let unsupportedStore = Code(backing: .unsupportedStore)
        /// A PostgreSQL store cannot be reached (refused, timed out, closed): exit 74.
        public static let storeUnreachable = Code(backing: .storeUnreachable)
        /// A PostgreSQL store's TLS certificate failed verification (the reason names the category): exit 1.
        public static let storeUntrusted = Code(backing: .storeUntrusted)
        /// A PostgreSQL store refused the login (wrong password, unknown user or database): exit 65.
        public static let storeAccessDenied = Code(backing: .storeAccessDenied)

        public var description: String {
            switch backing {
            case .refused: return "refused"
            case .notFound: return "not-found"
            case .versionConflict: return "version-conflict"
            case .storeUnreadable: return "store-unreadable"
            case .storeUnwritable: return "store-unwritable"
            case .invalidDocument: return "invalid-document"
            case .unsupportedStore: return "unsupported-store"
            case .storeUnreachable: return "store-unreachable"
            case .storeUntrusted: return "store-untrusted"
            case .storeAccessDenied: return "store-access-denied"
            }
        }
    }

    public var code: Code
    public var reason: String
    public var hint: String?
    /// The file involved: the store, or the input file.
    public var file: String?

    public var description: String { file.map { "\(reason) (\($0))" } ?? reason }

    public static func refused(_ reason: String, hint: String? = nil, file: String? = nil) -> AllowListError {
        AllowListError(code: .refused, reason: reason, hint: hint, file: file)
    }

    public static func versionConflict(_ reason: String, hint: String? = nil) -> AllowListError {
        AllowListError(code: .versionConflict, reason: reason, hint: hint, file: nil)
    }

    public static func notFound(_ reason: String, hint: String? = nil) -> AllowListError {
        AllowListError(code: .notFound, reason: reason, hint: hint, file: nil)
    }

    public static func storeUnreadable(_ reason: String, path: String, hint: String? = nil) -> AllowListError {
        AllowListError(code: .storeUnreadable, reason: reason, hint: hint, file: path)
    }

    public static func storeUnwritable(_ reason: String, path: String) -> AllowListError {
        AllowListError(code: .storeUnwritable, reason: reason, hint: nil, file: path)
    }

    public static func invalidDocument(_ reason: String, file: String? = nil) -> AllowListError {
        AllowListError(code: .invalidDocument, reason: reason, hint: nil, file: file)
    }
}
