import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("Router: path rules, round-robin, passive health")
struct RouterTests {
    let configuration = GatewayConfiguration(
        gateway: "g", store: nil, listeners: [],
        pools: [
            .init(name: "two", members: [.init(host: "10.0.0.1", port: 443), .init(host: "10.0.0.2", port: 443)]),
            .init(name: "one", members: [.init(host: "10.0.0.3", port: 443)]),
        ],
        backendSettings: [.init(name: "s", scheme: .https, port: nil, hostName: "b.test", pickHostNameFromMember: false,
                                trust: .trustedRoot, requestTimeout: 30, connectTimeout: 10)],
        rules: [.init(name: "r", listener: "l", pool: "two", settings: "s",
                      paths: [.init(match: "/one/*", pool: "one", settings: "s"), .init(match: "/one/exact", pool: "two", settings: "s")])]
    )

    @Test("The longest path match wins; /p/* covers /p and below; the query is not part of the path")
    func paths() throws {
        let router = Router(configuration: configuration)
        #expect(router.route(listener: "l", path: "/one")?.pool.name == "one")
        #expect(router.route(listener: "l", path: "/one/a?x=1")?.pool.name == "one")
        #expect(router.route(listener: "l", path: "/one/exact")?.pool.name == "two")
        #expect(router.route(listener: "l", path: "/oneself")?.pool.name == "two")
        #expect(router.route(listener: "other", path: "/") == nil)
    }

    @Test("Round-robin skips a member marked down; all down is 503 with the latest category; an allow-list change clears the marks")
    func passiveHealth() async throws {
        let router = Router(configuration: configuration)
        let two = configuration.pools[0]
        let picks = (0..<4).map { _ in router.pick(two) }
        #expect(picks == [.member(two.members[0]), .member(two.members[1]), .member(two.members[0]), .member(two.members[1])])

        router.markDown(two, two.members[0], category: .verdict(.untrustedRoot))
        #expect((0..<4).allSatisfy { _ in router.pick(two) == .member(two.members[1]) })
        #expect(router.pick(two, excluding: [two.members[1].description]) == .noneAvailable(category: .verdict(.untrustedRoot)))

        router.markDown(two, two.members[1], category: .verdict(.expired))
        #expect(router.pick(two) == .noneAvailable(category: .verdict(.expired)))

        router.clearMarks()
        #expect(router.pick(two) != .noneAvailable(category: .verdict(.expired)))

        let quick = Router(configuration: configuration, failTimeout: .milliseconds(1))
        quick.markDown(two, two.members[0], category: .verdict(.unreachable))
        quick.markDown(two, two.members[1], category: .verdict(.unreachable))
        // The marks lapse after 1 ms: polled for at most 5 s, not forever.
        let deadline = ContinuousClock.now + .seconds(5)
        while quick.pick(two) == .noneAvailable(category: .verdict(.unreachable)), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(quick.pick(two) != .noneAvailable(category: .verdict(.unreachable)))
    }

    @Test("Member keys compare pool and member as two values")
    func memberKeys() {
        let member = GatewayConfiguration.Member(host: "b", port: 1)
        #expect(MemberKey(pool: "a", member: member) == MemberKey(pool: "a", member: .init(host: "b", port: 1)))
        #expect(MemberKey(pool: "a", member: member) != MemberKey(pool: "a\u{0}b", member: .init(host: "", port: 1)))
    }

    @Test("A pool of one member is never marked down: its clients see that member's own failure")
    func poolOfOne() throws {
        let router = Router(configuration: configuration)
        let one = configuration.pools[1]
        router.markDown(one, one.members[0], category: .verdict(.expired))
        #expect(router.pick(one) == .member(one.members[0]))
        #expect(router.pick(one, excluding: [one.members[0].description]) == .noneAvailable(category: .verdict(.unreachable)))
    }
}
