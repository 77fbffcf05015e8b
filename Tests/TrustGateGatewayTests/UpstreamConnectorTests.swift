import Foundation
import NIOCore
import NIOPosix
import Testing
import TrustGateAllowList
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

/// `UpstreamConnector` in process, against NIOSSL backends on 127.0.0.1: every `UpstreamConnectResult`, each with
/// what it carries. No process is spawned.
@Suite("UpstreamConnector: one result value per attempt")
struct UpstreamConnectorTests {
    let pki: TestPKI
    let state: AllowListState

    init() throws {
        pki = try TestPKI()
        let bundle = CertificateBundle(format: .pem, certificates: [pki.root.certificate], privateKeys: [])
        let root = try EntryRegistration(gateway: "g").entry(from: bundle, file: "root-ca.pem", actor: "test")
        state = AllowListState(gateway: "g", version: 1, entries: [root])
    }

    /// The judge runs on Swift's cooperative pool, which other suites' synchronous process waits can hold for a
    /// while on a 2-core machine: the default connect timeout leaves it room, and only the timeout test is tight.
    func settings(_ trust: TrustMode = .trustedRoot, connectTimeout: TimeInterval = 120) -> GatewayConfiguration.BackendSettings {
        GatewayConfiguration.BackendSettings(
            name: "e2e", scheme: .https, port: nil, hostName: TestPKI.backendHost, pickHostNameFromMember: false,
            trust: trust, requestTimeout: 10, connectTimeout: connectTimeout
        )
    }

    func connect(
        _ connector: UpstreamConnector, port: Int, settings: GatewayConfiguration.BackendSettings, group: EventLoopGroup
    ) async throws -> UpstreamConnectResult {
        try await connector.connect(
            member: GatewayConfiguration.Member(host: "127.0.0.1", port: port), settings: settings, eventLoop: group.next()
        ) { $0.eventLoop.makeSucceededVoidFuture() }.get()
    }

    /// Runs `body` with an event loop group and, when `chain` is given, an EchoBackend serving it; stops both.
    func with(
        _ chain: [ParsedCertificate]? = nil, key: PrivateKeyMaterial? = nil,
        _ body: (EventLoopGroup, EchoBackend?) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var echo: EchoBackend?
        do {
            if let chain, let key { echo = try await EchoBackend.start(certificates: chain, key: key) }
            try await body(group, echo)
        } catch {
            await echo?.stop()
            try? await group.shutdownGracefully()
            throw error
        }
        await echo?.stop()
        try await group.shutdownGracefully()
    }

    /// testpki's valid backend: the leaf and its intermediate.
    var valid: (chain: [ParsedCertificate], key: PrivateKeyMaterial)? {
        pki.backends["valid"].map { ([$0.certificate] + $0.chain, $0.key) }
    }

    @Test("An allowed backend: connected, with the chain as presented and an admission under the generation")
    func connected() async throws {
        let valid = try #require(valid)
        try await with(valid.chain, key: valid.key) { group, echo in
            let connector = try UpstreamConnector(state: state)
            let result = try await connect(connector, port: echo?.port ?? 0, settings: settings(), group: group)
            guard case .connected(let connection) = result else {
                Issue.record("expected connected, got \(result.category): \(result.detail)")
                return
            }
            #expect(result.category == .ok)
            #expect(connection.presented.map(\.der) == valid.chain.map(\.der))
            #expect(connection.admission?.generation == connector.generation)
            #expect(connector.registry.count == 1, "an https connection is registered for re-checks")
            try await connection.channel.close()
        }
    }

    @Test("A refused backend: rejected, with the verdict's category and the chain it was judged on",
          arguments: [("wrong-host", ReasonCategory.hostnameMismatch), ("expired", .expired),
                      ("untrusted", .untrustedRoot), ("missing-intermediate", .incompleteChain)])
    func rejected(scenario: String, category: ReasonCategory) async throws {
        let issued = try #require(pki.backends[scenario])
        let chain = scenario == "missing-intermediate" ? [issued.certificate]
            : [issued.certificate] + issued.chain + (scenario == "untrusted" ? [pki.untrustedRoot.certificate] : [])
        try await with(chain, key: issued.key) { group, echo in
            let connector = try UpstreamConnector(state: state)
            let result = try await connect(connector, port: echo?.port ?? 0, settings: settings(), group: group)
            guard case .rejected(let verdict, let presented) = result else {
                Issue.record("\(scenario): expected rejected, got \(result.category): \(result.detail)")
                return
            }
            #expect(verdict.category == category && result.category == category, "\(scenario): \(verdict.detail)")
            #expect(presented.first?.der == issued.certificate.der)
            #expect(connector.registry.count == 0)
        }
    }

    @Test("Pinned mode without the leaf registered: rejected as not-allowlisted")
    func notAllowlisted() async throws {
        let valid = try #require(valid)
        try await with(valid.chain, key: valid.key) { group, echo in
            let result = try await connect(try UpstreamConnector(state: state), port: echo?.port ?? 0,
                                           settings: settings(.pinned), group: group)
            #expect(result.category == .notAllowlisted, "\(result.detail)")
        }
    }

    @Test("Nothing listening: unreachable; a listener that never speaks TLS: timeout within the connect timeout")
    func unreachableAndTimeout() async throws {
        try await with { group, _ in
            let connector = try UpstreamConnector(state: state)
            let closed = try freePort()
            let refused = try await connect(connector, port: closed, settings: settings(), group: group)
            guard case .unreachable = refused else {
                Issue.record("expected unreachable, got \(refused.category): \(refused.detail)")
                return
            }
            // Accepts TCP, never answers.
            let silent = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
            let stalled = try await connect(connector, port: silent.localAddress?.port ?? 0,
                                            settings: settings(connectTimeout: 0.5), group: group)
            try? await silent.close()
            guard case .timeout(let detail) = stalled else {
                Issue.record("expected timeout, got \(stalled.category): \(stalled.detail)")
                return
            }
            // The handshake timer fired (no wall-clock assertion: the suite shares a 2-thread cooperative pool).
            #expect(detail.contains("no TLS handshake") && detail.contains("within 0.5 s"), "\(detail)")
        }
    }

    @Test("The judge has threads of its own: a backend is judged while every thread of the cooperative pool is held")
    func judgedWhileThePoolIsHeld() async throws {
        let valid = try #require(valid)
        try await with(valid.chain, key: valid.key) { group, echo in
            let connector = try UpstreamConnector(state: state)
            let member = GatewayConfiguration.Member(host: "127.0.0.1", port: echo?.port ?? 0)
            let settings = settings(connectTimeout: 20)
            // Off the pool itself (the test must go on while it is held): as many tasks as it has threads each
            // block until released, or for 30 s. Before the judge had threads of its own, its task queued behind
            // them and the handshake timed out after 20 s.
            let result = try await blocking {
                let started = DispatchSemaphore(value: 0)
                let release = DispatchSemaphore(value: 0)
                let width = System.coreCount
                for _ in 0..<width {
                    Task.detached {
                        started.signal()
                        _ = release.wait(timeout: .now() + 30)
                    }
                }
                for _ in 0..<width { _ = started.wait(timeout: .now() + 30) }
                defer { for _ in 0..<width { release.signal() } }
                return try connector.connect(member: member, settings: settings, eventLoop: group.next()) {
                    $0.eventLoop.makeSucceededVoidFuture()
                }.wait()
            }
            guard case .connected(let connection) = result else {
                Issue.record("expected connected, got \(result.category): \(result.detail)")
                return
            }
            try await connection.channel.close()
        }
    }
}
