import Dispatch
import Foundation
import TrustGateCLI

/// Synchronous commands finish here without starting the concurrency runtime; asynchronous ones run in a task
/// while the main thread serves the main queue.
func launch() -> Never {
    switch TrustGate.start() {
    case .finished(let status):
        exit(status)
    case .asynchronous(let command):
        Task { exit(await TrustGate.finish(command)) }
        dispatchMain()
    }
}

launch()
