import TrustGateGateway

/// Runs `body`, which blocks (waits for processes, sleeps, polls), on a thread of its own, so that the test does
/// not hold one of the Swift concurrency pool's threads while it waits: on two cores the pool has two, and the
/// in-process servers of other tests run on it. `body` stays in the test's task (it is the task's preferred
/// executor that changes), so `#expect` inside it is recorded against the test as anywhere else.
public func blocking<Value: Sendable>(_ body: () throws -> Value) async throws -> Value {
    try await withTaskExecutorPreference(blockingThreads) { try body() }
}

/// Enough threads that every test running at once can block on one.
private let blockingThreads = ThreadPoolExecutor(threads: 32)
