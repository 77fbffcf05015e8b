import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// One connection's queries, waited for in turn: what a store call runs on.
struct PostgresSession {
    let connection: PostgresConnection
    let logger: Logger
    /// The store URL (without secrets), for errors.
    let target: String

    /// How long one statement may take before the connection is closed (a server that accepts and stops
    /// answering, a lock held elsewhere, or a network that silently drops must not hold a command or the
    /// gateway's watcher forever): the URL's `statement-timeout`.
    let statementTimeout: TimeAmount

    func query(_ query: PostgresQuery) throws -> PostgresQueryResult {
        let result = connection.query(query, logger: logger)
        let connection = self.connection
        let expired = NIOLockedValueBox(false)
        let deadline = connection.eventLoop.scheduleTask(in: statementTimeout) {
            expired.withLockedValue { $0 = true }
            connection.close().whenComplete { _ in _ = connection }
        }
        defer { deadline.cancel() }
        do {
            return try result.wait()
        } catch where expired.withLockedValue({ $0 }) {
            throw StatementTimedOut(seconds: statementTimeout.nanoseconds / 1_000_000_000)
        }
    }

    func execute(_ query: PostgresQuery) throws {
        _ = try self.query(query)
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

/// A statement outlived the URL's `statement-timeout`; its connection was closed.
struct StatementTimedOut: Error {
    let seconds: Int64
}
