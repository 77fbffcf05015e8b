import TrustGateAllowList
import TrustGatePKI

/// Why the gateway could not start: the one error ``GatewayServer/start(configuration:store:logger:threads:)``
/// throws, with the cause as a value, so a caller maps it to an exit status by kind and never by text.
public struct GatewayError: Error, Sendable, CustomStringConvertible {
    public enum Cause: Sendable {
        /// The configuration is invalid (every problem found).
        case configuration(ConfigurationProblems)
        /// A listener or client certificate cannot be used.
        case certificate(PKIError)
        /// The allow-list cannot be read.
        case store(AllowListError)
        /// A listener cannot be bound (address in use, permission) or the system refused resources.
        case listen(String)
    }

    public let cause: Cause

    public init(_ cause: Cause) {
        self.cause = cause
    }

    /// Classifies what starting threw: the library's own errors by type, anything else (NIO's socket errors) as
    /// a listen failure.
    init(starting error: any Error) {
        switch error {
        case let error as GatewayError: self = error
        case let error as ConfigurationProblems: self.init(.configuration(error))
        case let error as PKIError: self.init(.certificate(error))
        case let error as AllowListError: self.init(.store(error))
        default: self.init(.listen("\(error)"))
        }
    }

    public var description: String {
        switch cause {
        case .configuration(let problems): "invalid configuration: \(problems)"
        case .certificate(let error): "\(error)"
        case .store(let error): "\(error)"
        case .listen(let detail): "cannot listen: \(detail)"
        }
    }
}
