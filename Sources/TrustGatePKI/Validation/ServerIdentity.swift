/// The name a client expects a server certificate to carry: a DNS host name or an IP address.
public enum ServerIdentity: Hashable, Sendable, CustomStringConvertible {
    case dns(String)
    case ip([UInt8])

    /// A host name, or an IP address when the text is one (as a TLS client decides what to verify).
    public init(_ text: String) {
        if let bytes = IPAddressBytes.parse(text) {
            self = .ip(bytes)
        } else {
            self = .dns(text)
        }
    }

    public var description: String {
        switch self {
        case .dns(let name): return name
        case .ip(let bytes): return IPAddressBytes.format(bytes)
        }
    }
}

/// What the certificate is being verified for: its extended key usage.
public enum CertificatePurpose: String, Sendable, CaseIterable, Codable {
    case server
    case client
}
