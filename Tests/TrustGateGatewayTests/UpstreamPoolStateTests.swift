import Foundation
import NIOCore
import Testing
import TrustGateAllowList
@testable import TrustGateGateway

/// The pool's rules on connections that are plain objects and a clock turned by hand: no channel, no lock.
@Suite("UpstreamPoolState: reuse, expiry, limits and retirement as values")
struct UpstreamPoolStateTests {
    final class Connection: PooledConnection {
        let poolKey: UpstreamPool.Key
        var isOpen = true
        let admission: UpstreamAdmission?

        init(_ key: UpstreamPool.Key = UpstreamPoolStateTests.key(), admission: UpstreamAdmission? = .init(generation: 1, validUntil: .distantFuture)) {
            poolKey = key
            self.admission = admission
        }
    }

    static func key(port: Int = 443) -> UpstreamPool.Key {
        let settings = GatewayConfiguration.BackendSettings(
            name: "s", scheme: .https, port: nil, hostName: "b.test", pickHostNameFromMember: false, trust: .trustedRoot,
            requestTimeout: 30, connectTimeout: 10
        )
        return UpstreamPool.Key(eventLoop: ObjectIdentifier(Connection.self),
                                endpoint: UpstreamEndpoint(member: .init(host: "10.0.0.1", port: port), settings: settings))
    }

    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test("The most recent first; closed ones skipped; stale verdicts returned to close, never reused")
    func take() {
        var state = UpstreamPoolState<Connection>(maximumIdle: 8, idleTimeout: .seconds(60))
        let old = Connection(admission: .init(generation: 0, validUntil: .distantFuture))
        let closed = Connection()
        let good = Connection()
        let newest = Connection()
        for connection in [old, good, closed, newest] { #expect(state.put(connection, now: start) == nil) }
        closed.isOpen = false
        var (taken, close) = state.take(Self.key(), generation: 1, at: Date())
        #expect(taken === newest && close.isEmpty)
        (taken, close) = state.take(Self.key(), generation: 1, at: Date())
        #expect(taken === good && close.isEmpty, "the closed one was skipped")
        (taken, close) = state.take(Self.key(), generation: 1, at: Date())
        #expect(taken == nil && close.count == 1 && close[0] === old, "judged under generation 0")
        #expect(state.take(Self.key(port: 8443), generation: 1, at: Date()).0 == nil)
        #expect(state.idleCount == 0)
    }

    @Test("Over maximumIdle and for a retired backend, put hands the connection back to close")
    func limits() {
        var state = UpstreamPoolState<Connection>(maximumIdle: 1, idleTimeout: .seconds(60))
        #expect(state.put(Connection(), now: start) == nil)
        let extra = Connection()
        #expect(state.put(extra, now: start) === extra)
        let idleGone = state.retire(previous: ["10.0.0.1:443"], active: [])
        #expect(idleGone.count == 1 && state.idleCount == 0)
        let busy = Connection()
        #expect(state.put(busy, now: start) === busy, "a retired backend's connections are not kept once idle")
    }

    @Test("Idle connections expire at exactly the idle timeout; forget removes a closed one")
    func expiry() {
        var state = UpstreamPoolState<Connection>(maximumIdle: 8, idleTimeout: .seconds(60))
        let first = Connection()
        let second = Connection()
        _ = state.put(first, now: start)
        _ = state.put(second, now: start + .seconds(30))
        #expect(state.expire(now: start + .seconds(59)).isEmpty)
        let expired = state.expire(now: start + .seconds(60))
        #expect(expired.count == 1 && expired[0] === first)
        state.forget(key: Self.key()) { $0 === second }
        #expect(state.idleCount == 0)
        #expect(state.removeAll().isEmpty)
    }
}
