import Foundation
import NIOCore
import NIOEmbedded
import Testing
import TrustGateAllowList
import TrustGatePKI
@testable import TrustGateGateway

@Suite("UpstreamPool: which idle connection may be reused")
struct UpstreamPoolTests {
    static let member = GatewayConfiguration.Member(host: "10.0.0.1", port: 443)

    static func settings(
        profile: VerificationProfile = .strict, trust: TrustMode = .trustedRoot, hostName: String = "b.test"
    ) -> GatewayConfiguration.BackendSettings {
        var settings = GatewayConfiguration.BackendSettings(
            name: "s", scheme: .https, port: nil, hostName: hostName, pickHostNameFromMember: false, trust: trust,
            requestTimeout: 30, connectTimeout: 10
        )
        settings.verificationProfile = profile
        return settings
    }

    static func key(_ settings: GatewayConfiguration.BackendSettings = settings()) -> UpstreamPool.Key {
        UpstreamPool.Key(eventLoop: ObjectIdentifier(EmbeddedEventLoop.self), endpoint: UpstreamEndpoint(member: member, settings: settings))
    }

    static func link(_ key: UpstreamPool.Key = key(), admission: UpstreamAdmission? = .init(generation: 1, validUntil: .distantFuture))
        throws -> (UpstreamLink, EmbeddedChannel)
    {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "10.0.0.1", port: 443)).wait()
        return (UpstreamLink(channel: channel, handler: UpstreamResponseHandler(), key: key, admission: admission), channel)
    }

    @Test("Taken back most recent first, only for an equal key, only under the generation it was judged under")
    func takeAndPut() throws {
        let pool = UpstreamPool(sweepInterval: .seconds(3_600))
        defer { pool.closeAll() }
        let (first, _) = try Self.link()
        let (second, _) = try Self.link()
        pool.put(first)
        pool.put(second)
        #expect(pool.idleCount == 2)
        #expect(pool.take(Self.key(Self.settings(profile: .compatible)), generation: 1) == nil, "another profile")
        #expect(pool.take(Self.key(), generation: 1) === second)
        // A connection judged under generation 1 is closed, not reused, once the allow-list moved on.
        #expect(pool.take(Self.key(), generation: 2) == nil)
        #expect(!first.channel.isActive)
        #expect(pool.idleCount == 0)
    }

    @Test("An expired admission, a full pool, a retired backend and an idle timeout each close the connection")
    func closing() throws {
        let pool = UpstreamPool(maximumIdle: 1, idleTimeout: .seconds(60), sweepInterval: .seconds(3_600))
        defer { pool.closeAll() }
        let (expiring, _) = try Self.link(admission: .init(generation: 1, validUntil: Date(timeIntervalSince1970: 0)))
        pool.put(expiring)
        #expect(pool.take(Self.key(), generation: 1) == nil)
        #expect(!expiring.channel.isActive)

        let (kept, _) = try Self.link()
        let (extra, _) = try Self.link()
        pool.put(kept)
        pool.put(extra)
        #expect(!extra.channel.isActive, "over maximumIdle")
        pool.closeExpired(now: .now() + .seconds(61))
        #expect(!kept.channel.isActive && pool.idleCount == 0)

        let (busy, _) = try Self.link()
        pool.retire(previous: ["10.0.0.1:443"], active: [])
        pool.put(busy)
        #expect(!busy.channel.isActive, "a backend a reload removed is not kept once idle")
    }
}
