import NIOConcurrencyHelpers
import TrustGatePKI

/// Carries the verdict of one upstream handshake from the TLS verification callback to the proxy handler that
/// must answer the client (502 with the category) and to the connection registry (re-checks after a reload).
final class UpstreamVerdictBox: Sendable {
    private let value = NIOLockedValueBox<TrustVerdict?>(nil)
    private let chain = NIOLockedValueBox<[ParsedCertificate]>([])
    private let allowListVersion = NIOLockedValueBox<Int64?>(nil)

    /// The allow-list version the verdict was given under (nil for plain HTTP).
    var version: Int64? {
        get { allowListVersion.withLockedValue { $0 } }
        set { allowListVersion.withLockedValue { $0 = newValue } }
    }

    var verdict: TrustVerdict? {
        get { value.withLockedValue { $0 } }
        set { value.withLockedValue { $0 = newValue } }
    }

    var presented: [ParsedCertificate] {
        get { chain.withLockedValue { $0 } }
        set { chain.withLockedValue { $0 = newValue } }
    }
}
