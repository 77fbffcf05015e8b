import Foundation
import NIOCore
import NIOPosix
import TrustGateAllowList
import TrustGatePKI

/// One pool member under one backend setting, as `gateway backend-health` and `allowlist plan` report it.
/// The JSON keys are a documented contract (`trustgate gateway backend-health --help`, `Man/trustgate.gateway.backend-health.1`): add keys, never rename them.
public struct BackendHealth: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case healthy = "Healthy"
        case unhealthy = "Unhealthy"
        /// Not probed: no rule routes to the pool.
        case unknown = "Unknown"
    }

    public var pool: String
    public var member: String
    public var settings: String?
    /// The name the certificate must be valid for, and the SNI sent.
    public var expectedName: String?
    public var state: State
    /// `ok`, a reason category of the SPEC, `unexpected-status` (trusted, but the probe's HTTP status is not
    /// accepted) or `unexpected-body` (the body lacks the probe's body-match).
    public var category: GatewayOutcome
    public var detail: String
    /// The probe's HTTP status, when the request got an answer.
    public var httpStatus: Int?
    /// What the backend presented, leaf first.
    public var presented: [CertificateSummary]
    /// Whole days until the leaf expires (negative: expired that many days ago).
    public var daysUntilExpiry: Int?
    /// The leaf expires within the warning threshold.
    public var expiryWarning: Bool
    /// For a rejected backend, the allow-list entry most like its certificate.
    public var nearestEntry: String?

    /// The report as `--json` prints it (sorted keys, two-space indentation).
    public static func json(_ report: [BackendHealth]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(report)).map { Array($0) + [UInt8(ascii: "\n")] } ?? Array("[]\n".utf8)
    }
}

/// A probe's report, with the chain the backend presented (to judge it again under another allow-list) and the
/// backend setting it was probed under.
public struct ProbedBackend: Sendable {
    public var health: BackendHealth
    public var chain: [ParsedCertificate]
    public var settings: GatewayConfiguration.BackendSettings?
}

/// Probes backends through the gateway's own upstream path (``UpstreamConnector``): the same SNI, expected
/// name, trust mode and allow-list evaluator as live traffic, then an HTTP/1.1 GET of the probe path.
public enum BackendProbe {
    /// Every member of every pool; those a rule routes to are probed under each backend setting a rule pairs
    /// with their pool, concurrently.
    public static func probeAll(
        _ configuration: GatewayConfiguration, state: AllowListState, path: String? = nil, timeout: TimeInterval? = nil,
        warningDays: Int = 30, now: Date = Date()
    ) async throws -> [ProbedBackend] {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        let connector = try UpstreamConnector(state: state)
        try connector.loadIdentities(configuration)
        return await probeAll(configuration, connector: connector, state: state, group: group, path: path,
                              timeout: timeout, warningDays: warningDays, now: now)
    }

    /// The same on a running gateway's connector and event loops (its client certificates loaded).
    static func probeAll(
        _ configuration: GatewayConfiguration, connector: UpstreamConnector, state: AllowListState,
        group: EventLoopGroup, path: String? = nil, timeout: TimeInterval? = nil, warningDays: Int = 30, now: Date = Date()
    ) async -> [ProbedBackend] {
        let pairs = configuration.routedPairs
        var jobs: [(Int, GatewayConfiguration.Member, GatewayConfiguration.BackendSettings, String)] = []
        var results: [ProbedBackend?] = []
        for pool in configuration.pools {
            let routed = pairs.filter { $0.pool.name == pool.name }.map(\.settings)
            for member in pool.members {
                if routed.isEmpty {
                    let health = BackendHealth(
                        pool: pool.name, member: member.description, settings: nil, expectedName: nil, state: .unknown,
                        category: .notRouted, detail: "no rule routes to pool \(pool.name)", httpStatus: nil, presented: [],
                        daysUntilExpiry: nil, expiryWarning: false, nearestEntry: nil
                    )
                    results.append(ProbedBackend(health: health, chain: [], settings: nil))
                }
                for settings in routed {
                    jobs.append((results.count, member, settings, pool.name))
                    results.append(nil)
                }
            }
        }
        await withTaskGroup(of: (Int, ProbedBackend).self) { tasks in
            for (index, member, settings, pool) in jobs {
                tasks.addTask {
                    var definition = settings.probe ?? GatewayConfiguration.Probe()
                    if let path { definition.path = path }
                    definition.timeout = timeout ?? min(definition.timeout, 10)
                    let health = await probe(
                        member: member, settings: settings, pool: pool, connector: connector, state: state,
                        eventLoop: group.next(), definition: definition, warningDays: warningDays, now: now
                    )
                    return (index, health)
                }
            }
            for await (index, health) in tasks { results[index] = health }
        }
        return results.compactMap { $0 }
    }

    /// One member under one backend setting.
    static func probe(
        member: GatewayConfiguration.Member, settings: GatewayConfiguration.BackendSettings, pool: String,
        connector: UpstreamConnector, state: AllowListState, eventLoop: EventLoop, definition: GatewayConfiguration.Probe,
        warningDays: Int, now: Date
    ) async -> ProbedBackend {
        let path = definition.path
        let timeout = definition.timeout
        let hostName = settings.hostName(for: member)
        var health = BackendHealth(
            pool: pool, member: "\(member.host):\(settings.port(for: member))", settings: settings.name,
            expectedName: hostName, state: .unhealthy, category: .ok, detail: "",
            httpStatus: nil, presented: [], daysUntilExpiry: nil, expiryWarning: false, nearestEntry: nil
        )
        let status = eventLoop.makePromise(of: ProbeResponseReader.Response.self)
        // `timeout` bounds the whole probe: connect, handshake and response together.
        let deadline = NIODeadline.now() + .seconds(clamping: timeout)
        var probeSettings = settings
        probeSettings.connectTimeout = min(settings.connectTimeout, timeout)
        let result: UpstreamConnectResult
        do {
            result = try await connector.connect(member: member, settings: probeSettings, eventLoop: eventLoop) {
                channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ProbeResponseReader(status: status))
                }
            }.get()
        } catch {
            result = .handshakeFailed("\(error)")
        }
        guard case .connected(let connection) = result else {
            status.fail(ProbeFailure(category: result.category, detail: result.detail))
            (health.category, health.detail) = (.verdict(result.category), result.detail)
            guard case .rejected(_, let presented) = result else {
                return ProbedBackend(health: health, chain: [], settings: settings)
            }
            health.presented = summaries(presented)
            if let leaf = presented.first { health.nearestEntry = state.policy.nearestEntry(to: leaf) }
            expiry(of: presented.first, into: &health, warningDays: warningDays, now: now)
            return ProbedBackend(health: health, chain: presented, settings: settings)
        }
        let presented = connection.presented
        health.presented = summaries(presented)
        expiry(of: presented.first, into: &health, warningDays: warningDays, now: now)
        let channel = connection.channel
        let host = settings.hostHeader(for: member)
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: trustgate-probe\r\nConnection: close\r\n\r\n"
        channel.writeAndFlush(channel.allocator.buffer(string: request), promise: nil)
        let timer = eventLoop.scheduleTask(deadline: deadline) {
            status.fail(ProbeFailure(
                category: .timeout, detail: "no response to GET \(path) within \(UpstreamConnector.seconds(timeout)) of the probe's start"
            ))
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        do {
            let response = try await status.futureResult.get()
            let code = response.status
            health.httpStatus = code
            if !definition.statuses.contains(where: { $0.contains(code) }) {
                health.category = .unexpectedStatus
                health.detail = "HTTP \(code) to GET \(path) (accepted: \(definition.statusesDescription))"
            } else if let match = definition.bodyMatch, !String(decoding: response.body, as: UTF8.self).contains(match) {
                health.category = .unexpectedBody
                health.detail = "HTTP \(code) to GET \(path), but the body does not contain \"\(match)\""
            } else {
                health.state = .healthy
                health.detail = "HTTP \(code); " + (settings.scheme == .https ? "certificate allowed (\(settings.trust.rawValue))" : "plain HTTP")
            }
        } catch let failure as ProbeFailure {
            (health.category, health.detail) = (.verdict(failure.category), failure.detail)
        } catch {
            (health.category, health.detail) = (.verdict(.unreachable), "no valid response to GET \(path): \(error)")
        }
        return ProbedBackend(health: health, chain: presented, settings: settings)
    }

    private static func summaries(_ chain: [ParsedCertificate]) -> [CertificateSummary] {
        zip(chain, ChainAnalysis.roles(of: chain)).map { CertificateSummary($0, role: $1) }
    }

    private static func expiry(of leaf: ParsedCertificate?, into health: inout BackendHealth, warningDays: Int, now: Date) {
        guard let leaf else { return }
        let days = Int((leaf.notAfter.timeIntervalSince(now) / 86_400).rounded(.down))
        health.daysUntilExpiry = days
        health.expiryWarning = days < warningDays
    }
}

/// Reads the probe's response: its status, and up to 64 KiB of its body (for body-match).
final class ProbeResponseReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    struct Response: Sendable {
        var status: Int
        var body: [UInt8]
    }

    private let promise: EventLoopPromise<Response>
    private var reader = HTTP1MessageReader<HTTP1ResponseFramer>(request: false)
    private let framer = HTTP1ResponseFramer(relay: false, allowSwitching: true)
    private var status: Int?
    private var body: [UInt8] = []

    init(status: EventLoopPromise<Response>) {
        promise = status
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        var ended = false
        do {
            while !ended, body.count < 65_536,
                let part = try reader.next(&buffer, framer: framer, allocator: context.channel.allocator)
            {
                switch part {
                case .head(let (head, _)): status = head.status
                case .body(let slice): body += slice.readableBytesView.prefix(65_536 - body.count)
                case .end: ended = true
                }
            }
            if let status, ended || body.count >= 65_536 { finish(status, context: context) }
        } catch {
            promise.fail(error)
            context.close(promise: nil)
        }
    }

    private func finish(_ status: Int, context: ChannelHandlerContext) {
        promise.succeed(Response(status: status, body: body))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A body that runs until the backend closes ends here.
        // (A promise already completed stays as it is: NIO ignores a second completion.)
        if let status { promise.succeed(Response(status: status, body: body)) } else { promise.fail(ChannelError.eof) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}

/// Why a probe got no response: its whole budget ran out, or the connection was never made.
struct ProbeFailure: Error {
    let category: ReasonCategory
    let detail: String
}
