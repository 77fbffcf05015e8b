import TrustGateAllowList
import TrustGatePKI

/// One backend as a connection to it is made and judged: its address, the name it must prove (SNI and the
/// certificate check), the protocol, the trust mode and verification profile its chain is judged under, and the
/// client certificate it is shown. Two connections are interchangeable — in the pool, and for resuming a TLS
/// session — exactly when their endpoints are equal: a connection or session judged under one profile, mode or
/// client certificate is never used for another.
struct UpstreamEndpoint: Hashable, Sendable {
    let target: String
    let hostName: String
    let scheme: GatewayConfiguration.Scheme
    let trust: TrustMode
    let profile: VerificationProfile
    let clientCertificate: GatewayConfiguration.ListenerCertificate?

    init(member: GatewayConfiguration.Member, settings: GatewayConfiguration.BackendSettings) {
        target = "\(member.host):\(settings.port(for: member))"
        hostName = settings.hostName(for: member)
        scheme = settings.scheme
        trust = settings.trust
        profile = settings.verificationProfile
        clientCertificate = settings.clientCertificate
    }

    /// The key of its TLS sessions in ``UpstreamSessionCache``: every field, so a session is resumed only for an
    /// equal endpoint.
    var sessionKey: String {
        [target, hostName, scheme.rawValue, "\(trust)", "\(profile)", clientCertificate.map { "\($0)" } ?? ""]
            .joined(separator: "\u{0}")
    }
}
