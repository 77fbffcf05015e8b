import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Active health probes of a running gateway, as Azure's custom probes: every member of every pool a rule pairs
/// with backend settings that have a `probe` is probed every `interval` through the gateway's own upstream path
/// (``BackendProbe``: the same SNI, expected name and trust rule as live traffic). After `unhealthy-threshold`
/// failures in a row a member gets no traffic; one success brings it back. Restarted with each configuration.
final class HealthMonitor: Sendable {
    private struct Status {
        var failures = 0
        var unhealthy = false
        var category = GatewayOutcome.ok
    }

    private let statuses = NIOLockedValueBox<[MemberKey: Status]>([:])
    private let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])

    static func key(_ pool: String, _ member: GatewayConfiguration.Member) -> MemberKey {
        MemberKey(pool: pool, member: member)
    }

    /// The category of the probe failure that made `member` unhealthy, or nil while it is healthy (or not probed).
    func unhealthy(pool: String, member: GatewayConfiguration.Member) -> GatewayOutcome? {
        statuses.withLockedValue { statuses in
            guard let status = statuses[Self.key(pool, member)], status.unhealthy else { return nil }
            return status.category
        }
    }

    /// Stops the probes of the previous configuration and starts those of `configuration`.
    func start(
        _ configuration: GatewayConfiguration, connector: UpstreamConnector, state: AllowListState, group: EventLoopGroup,
        logger: Logger, metrics: GatewayMetrics
    ) {
        stop()
        let jobs = configuration.routedPairs.compactMap { pool, settings in settings.probe.map { (pool, settings, $0) } }
        let probed = Set(jobs.flatMap { pool, _, _ in pool.members.map { Self.key(pool.name, $0) } })
        statuses.withLockedValue { $0 = $0.filter { probed.contains($0.key) } }
        var started: [Task<Void, Never>] = []
        for (pool, settings, probe) in jobs {
            for member in pool.members {
                started.append(Task { [statuses] in
                    while !Task.isCancelled {
                        let result = await BackendProbe.probe(
                            member: member, settings: settings, pool: pool.name, connector: connector, state: state,
                            eventLoop: group.next(), definition: probe, warningDays: 0, now: Date()
                        ).health
                        // A probe of a configuration replaced meanwhile does not count.
                        guard !Task.isCancelled else { return }
                        let healthy = result.state == .healthy
                        let (was, now) = statuses.withLockedValue { statuses -> (Bool, Bool) in
                            var status = statuses[Self.key(pool.name, member)] ?? Status()
                            let was = status.unhealthy
                            status.failures = healthy ? 0 : status.failures + 1
                            if healthy { status.unhealthy = false }
                            if status.failures >= probe.unhealthyThreshold { status.unhealthy = true }
                            if !healthy { status.category = result.category }
                            statuses[Self.key(pool.name, member)] = status
                            return (was, status.unhealthy)
                        }
                        metrics.backendHealthy(pool: pool.name, member: member.description, healthy: !now)
                        if was != now {
                            let metadata: Logger.Metadata = [
                                "pool": "\(pool.name)", "member": "\(member)", "category": "\(result.category)",
                                "detail": "\(result.detail)",
                            ]
                            if now {
                                logger.warning("backend unhealthy: no traffic until a probe succeeds", metadata: metadata)
                            } else {
                                logger.notice("backend healthy again", metadata: metadata)
                            }
                        }
                        try? await Task.sleep(for: .seconds(clamping: probe.interval))
                    }
                })
            }
        }
        tasks.withLockedValue { $0 = started }
    }

    func stop() {
        for task in tasks.withLockedValue({ tasks in defer { tasks = [] }; return tasks }) { task.cancel() }
    }
}
