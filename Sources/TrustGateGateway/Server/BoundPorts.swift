import NIOConcurrencyHelpers

/// Every listener's bound port (for port 0, known only after bind), for redirects to another listener.
final class BoundPorts: Sendable {
    private let ports = NIOLockedValueBox<[String: Int]>([:])

    func set(_ listener: String, _ port: Int) {
        ports.withLockedValue { $0[listener] = port }
    }

    func port(of listener: String) -> Int? {
        ports.withLockedValue { $0[listener] }
    }
}
