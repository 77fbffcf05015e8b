import COpenSSL
import Foundation
import Testing
@testable import TrustGateGateway

@Suite("UpstreamSessionCache: a session is offered only under the verdict it was made with")
struct UpstreamSessionCacheTests {
    static func entry(generation: Int64, validUntil: Date) throws -> UpstreamSessionCache.Entry {
        let session = try #require(SSL_SESSION_new())
        return UpstreamSessionCache.Entry(session: session, presented: [],
                                          admission: UpstreamAdmission(generation: generation, validUntil: validUntil))
    }

    @Test("Offered for its key under its generation; dropped under another, and once a certificate expired")
    func admission() throws {
        let cache = UpstreamSessionCache()
        let now = Date()
        cache.store(try Self.entry(generation: 4, validUntil: now.addingTimeInterval(60)), for: "a")
        #expect(cache.session(for: "b", generation: 4, at: now) == nil, "another endpoint")
        #expect(cache.session(for: "a", generation: 4, at: now) != nil)
        #expect(cache.session(for: "a", generation: 5, at: now) == nil, "the allow-list moved on")
        #expect(cache.count == 0, "and the stale session is gone")

        cache.store(try Self.entry(generation: 4, validUntil: now.addingTimeInterval(60)), for: "a")
        #expect(cache.session(for: "a", generation: 4, at: now.addingTimeInterval(61)) == nil, "past the chain's notAfter")
        #expect(cache.count == 0)
    }
}
