import Foundation

/// Runs `body`, which blocks (waits for processes, sleeps, polls), on a thread of its own, so that the test does
/// not hold one of the Swift concurrency pool's threads while it waits: on two cores the pool has two, and the
/// in-process servers of other tests (TLS verification included) run on it.
public func blocking<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Swift.Result { try body() })
        }
    }
}
