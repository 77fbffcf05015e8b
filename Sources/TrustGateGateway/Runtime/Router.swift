import NIOConcurrencyHelpers

/// Picks, for a request on a listener, the pool and backend settings (rules and URL path maps, longest path
/// match first) and then a pool member, round-robin.
final class Router: Sendable {
    struct Route: Sendable {
        var rule: String
        var pool: GatewayConfiguration.BackendPool
        var settings: GatewayConfiguration.BackendSettings
    }

    private let configuration: GatewayConfiguration
    private let counters = NIOLockedValueBox<[String: Int]>([:])

    init(configuration: GatewayConfiguration) {
        self.configuration = configuration
    }

    /// The route for `path` on `listener`, or nil when no rule covers it.
    func route(listener: String, path: String) -> Route? {
        guard let rule = configuration.rules.first(where: { $0.listener == listener }) else { return nil }
        let pathOnly = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        var poolName = rule.pool
        var settingsName = rule.settings
        var longest = -1
        for entry in rule.paths where Self.matches(entry.match, pathOnly) && entry.match.count > longest {
            longest = entry.match.count
            poolName = entry.pool
            settingsName = entry.settings
        }
        guard let pool = configuration.pools.first(where: { $0.name == poolName }),
            let settings = configuration.backendSettings.first(where: { $0.name == settingsName })
        else { return nil }
        return Route(rule: rule.name, pool: pool, settings: settings)
    }

    /// The next member of the pool, round-robin.
    func member(of pool: GatewayConfiguration.BackendPool) -> GatewayConfiguration.Member? {
        guard !pool.members.isEmpty else { return nil }
        let index = counters.withLockedValue { counters -> Int in
            let next = counters[pool.name, default: 0]
            counters[pool.name] = next &+ 1
            return next
        }
        return pool.members[index % pool.members.count]
    }

    /// Azure path-rule semantics: `/images/*` matches `/images` and everything under it; otherwise exact.
    static func matches(_ pattern: String, _ path: String) -> Bool {
        if pattern.hasSuffix("/*") {
            let base = String(pattern.dropLast(2))
            return path == base || path.hasPrefix(base + "/")
        }
        return path == pattern
    }
}
