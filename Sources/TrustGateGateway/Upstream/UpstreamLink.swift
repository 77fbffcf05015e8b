import Foundation
import NIOConcurrencyHelpers
import NIOCore
import TrustGateAllowList
import TrustGatePKI

/// An upstream connection with its response handler and pool key. Used only on its channel's event loop (the
/// pool merely stores it, under a lock), hence `@unchecked Sendable`.
final class UpstreamLink: @unchecked Sendable {
    let channel: Channel
    let handler: UpstreamResponseHandler
    let key: UpstreamPool.Key
    /// What its TLS handshake's verdict admits; nil for plain HTTP.
    let admission: UpstreamAdmission?
    /// The leaf certificate the backend presented (nil for plain HTTP).
    let leaf: ParsedCertificate?
    /// Reading from the backend is paused (the client cannot take more yet).
    var readPaused = false

    init(
        channel: Channel, handler: UpstreamResponseHandler, key: UpstreamPool.Key, admission: UpstreamAdmission?,
        leaf: ParsedCertificate? = nil
    ) {
        self.leaf = leaf
        self.channel = channel
        self.handler = handler
        self.key = key
        self.admission = admission
    }
}

extension UpstreamLink: PooledConnection {
    var poolKey: UpstreamPool.Key { key }
    var isOpen: Bool { channel.isActive }
}
