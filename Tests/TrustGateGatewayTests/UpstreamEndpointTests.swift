import Testing
import TrustGateAllowList
import TrustGatePKI
@testable import TrustGateGateway

@Suite("UpstreamEndpoint: when two connections are interchangeable")
struct UpstreamEndpointTests {
    @Test("Endpoints differ by every field that decides a verdict; the session key follows equality")
    func endpoints() {
        let base = UpstreamEndpoint(member: UpstreamPoolTests.member, settings: UpstreamPoolTests.settings())
        let others = [
            UpstreamEndpoint(member: UpstreamPoolTests.member, settings: UpstreamPoolTests.settings(profile: .compatible)),
            UpstreamEndpoint(member: UpstreamPoolTests.member, settings: UpstreamPoolTests.settings(trust: .pinned)),
            UpstreamEndpoint(member: UpstreamPoolTests.member, settings: UpstreamPoolTests.settings(hostName: "c.test")),
            UpstreamEndpoint(member: .init(host: "10.0.0.1", port: 8443), settings: UpstreamPoolTests.settings()),
        ]
        for other in others {
            #expect(other != base)
            #expect(other.sessionKey != base.sessionKey)
        }
        #expect(UpstreamEndpoint(member: UpstreamPoolTests.member, settings: UpstreamPoolTests.settings()).sessionKey == base.sessionKey)
    }
}
