import Foundation
import Logging
import NIOCore
import PostgresNIO

/// One connection's queries, waited for in turn: what a store call runs on.
struct PostgresSession {
    let connection: PostgresConnection
    let logger: Logger
    /// The store URL (without secrets), for errors.
    let target: String

    func query(_ query: PostgresQuery) throws -> PostgresQueryResult {
        try connection.query(query, logger: logger).wait()
    }

    func execute(_ query: PostgresQuery) throws {
        _ = try connection.query(query, logger: logger).wait()
    }

    /// `body` between `BEGIN` and `COMMIT`; rolled back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if !connection.isClosed { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// The server reported a serialization failure or a deadlock: the transaction can be run again.
    static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, error.code == .server, let state = error.serverInfo?[.sqlState] else {
            return false
        }
        return state == "40001" || state == "40P01"
    }

    /// The connection itself failed (closed, reset, timed out): it is not used again.
    static func isConnectionFailure(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return !(error is AllowListError) }
        return error.code != .server
    }
}
