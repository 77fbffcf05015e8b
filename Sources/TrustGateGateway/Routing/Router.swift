import Crypto
import NIOConcurrencyHelpers
import NIOCore
import TrustGatePKI

/// Picks, for a request on a listener, the pool and backend settings (rules and URL path maps, longest path
/// match first) and then a pool member: round-robin over the members that are not marked down.
///
/// Passive health, as nginx's `max_fails=1 fail_timeout=10s`: a member whose connection or TLS handshake failed
/// (refused, timed out, not allowed by the allow-list) is skipped for ``failTimeout``, and the request fails over
/// to the next member. A pool of one member is never marked down (nginx does the same), so its clients always see
/// that member's own failure. An allow-list change clears every mark: a backend it now allows is tried at once.
final class Router: Sendable {
    struct Route: Sendable {
        var rule: String
        var pool: GatewayConfiguration.BackendPool
        var settings: GatewayConfiguration.BackendSettings
        var rewrite: GatewayConfiguration.HeaderRewrite? = nil
    }

    /// The outcome of picking a member.
    enum Pick: Equatable {
        case member(GatewayConfiguration.Member)
        /// Every member is marked down or was tried by this request; `category` is the latest failure's.
        case noneAvailable(category: GatewayOutcome)
        /// Active probes find every member unhealthy (502, as Azure); `category` is a probe's.
        case allUnhealthy(category: GatewayOutcome)
    }

    private struct Down {
        var until: NIODeadline
        var category: GatewayOutcome
    }

    private struct Balance {
        var counters: [String: Int] = [:]
        var down: [MemberKey: Down] = [:]
    }

    let configuration: GatewayConfiguration
    let failTimeout: TimeAmount
    private let balance = NIOLockedValueBox(Balance())

    /// For each listener, the listeners sharing its socket (itself included), computed once.
    private let sites: [String: [GatewayConfiguration.Listener]]
    /// For each pool, its members by affinity cookie value, and each member's value (computed once: the digest
    /// is not taken per response).
    private let affinity: [String: [String: GatewayConfiguration.Member]]
    private let affinityValues: [MemberKey: String]

    /// Active probes' verdicts (nil: no probes).
    let health: HealthMonitor?
    /// `client-timeouts`, as timer amounts (read on every keep-alive request: no configuration copy).
    let keepAliveTimeout: TimeAmount
    let headerTimeout: TimeAmount
    let sendTimeout: TimeAmount

    init(configuration: GatewayConfiguration, failTimeout: TimeAmount = .seconds(10), health: HealthMonitor? = nil) {
        self.configuration = configuration
        self.failTimeout = failTimeout
        self.health = health
        keepAliveTimeout = .seconds(clamping: configuration.clientKeepAliveTimeout)
        headerTimeout = .seconds(clamping: configuration.clientHeaderTimeout)
        sendTimeout = .seconds(clamping: configuration.sendTimeout)
        var sites: [String: [GatewayConfiguration.Listener]] = [:]
        for listener in configuration.listeners {
            sites[listener.name] = listener.port == 0
                ? [listener]
                : configuration.listeners.filter { $0.address == listener.address && $0.port == listener.port }
        }
        self.sites = sites
        var affinity: [String: [String: GatewayConfiguration.Member]] = [:]
        var affinityValues: [MemberKey: String] = [:]
        let pairs = configuration.routedPairs
        for pool in configuration.pools where pairs.contains(where: { $0.pool.name == pool.name && $0.settings.affinity != nil }) {
            for member in pool.members {
                let value = Self.digest(pool, member)
                affinity[pool.name, default: [:]][value] = member
                affinityValues[Self.key(pool, member)] = value
            }
        }
        self.affinity = affinity
        self.affinityValues = affinityValues
    }

    /// The affinity cookie's value for a member: a digest of pool and member, which does not reveal the
    /// backend's address.
    func affinityValue(_ pool: GatewayConfiguration.BackendPool, _ member: GatewayConfiguration.Member) -> String? {
        affinityValues[Self.key(pool, member)]
    }

    private static func digest(_ pool: GatewayConfiguration.BackendPool, _ member: GatewayConfiguration.Member) -> String {
        String(Array(SHA256.hash(data: Array("\(pool.name)\u{0}\(member.description)".utf8))).hexString.prefix(32))
    }

    /// The member an affinity cookie names, while it is in the pool and not marked down.
    func stickyMember(_ value: String, in pool: GatewayConfiguration.BackendPool) -> GatewayConfiguration.Member? {
        guard let member = affinity[pool.name]?[value], health?.unhealthy(pool: pool.name, member: member) == nil else {
            return nil
        }
        let mark = balance.withLockedValue { $0.down[Self.key(pool, member)] }
        if let mark, mark.until > .now() { return nil }
        return member
    }

    /// The site (listener) a request on `bound`'s socket is for: the listener on the same address and port that
    /// serves `host`, else the one there without host names (the default site), else the first (as nginx's
    /// default server). Read from the configuration in force, so that SIGHUP changes host names too.
    func site(on bound: GatewayConfiguration.Listener, host: @autoclosure () -> String) -> GatewayConfiguration.Listener {
        guard let group = sites[bound.name], group.count > 1 else { return sites[bound.name]?.first ?? bound }
        let name = Self.hostWithoutPort(host())
        return group.first { $0.serves(name) } ?? group.first { $0.hostNames.isEmpty } ?? group.first ?? bound
    }

    /// `host` lowercased, without a port (`[v6]:port` keeps its brackets off).
    static func hostWithoutPort(_ host: String) -> String {
        (GatewayConfiguration.Member(parsing: host)?.host ?? host).lowercased()
    }

    /// The redirect a rule on `listener` answers with, if it is a redirect rule.
    func redirect(listener: String) -> GatewayConfiguration.Redirect? {
        configuration.rules.first { $0.listener == listener }?.redirect
    }

    /// The route for `path` on `listener`, or nil when no rule covers it.
    func route(listener: String, path: String) -> Route? {
        guard let rule = configuration.rules.first(where: { $0.listener == listener }), rule.redirect == nil else {
            return nil
        }
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
        return Route(rule: rule.name, pool: pool, settings: settings, rewrite: rule.rewrite)
    }

    /// The next member of the pool, round-robin, skipping members marked down and those in `tried`.
    func pick(_ pool: GatewayConfiguration.BackendPool, excluding tried: Set<String> = []) -> Pick {
        // Members active probes find unhealthy get no traffic, in pools of any size.
        var probeFailure: GatewayOutcome?
        var healthy = pool
        if let health {
            healthy.members = pool.members.filter { member in
                guard let category = health.unhealthy(pool: pool.name, member: member) else { return true }
                probeFailure = category
                return false
            }
            if healthy.members.isEmpty { return .allUnhealthy(category: probeFailure ?? .verdict(.unreachable)) }
        }
        return pickAmong(healthy, excluding: tried)
    }

    private func pickAmong(_ pool: GatewayConfiguration.BackendPool, excluding tried: Set<String>) -> Pick {
        guard pool.members.count > 1 else {
            // A pool of one is never marked down.
            guard let only = pool.members.first, tried.isEmpty || !tried.contains(only.description) else {
                return .noneAvailable(category: .verdict(.unreachable))
            }
            return .member(only)
        }
        let (start, marks) = balance.withLockedValue { balance -> (Int, [MemberKey: Down]) in
            let next = balance.counters[pool.name, default: 0]
            balance.counters[pool.name] = next &+ 1
            return (next, balance.down)
        }
        let now = NIODeadline.now()
        var latest: Down?
        for offset in 0..<pool.members.count {
            let member = pool.members[(start &+ offset) % pool.members.count]
            if !tried.isEmpty, tried.contains(member.description) { continue }
            if !marks.isEmpty, let mark = marks[Self.key(pool, member)], mark.until > now {
                if latest.map({ mark.until > $0.until }) ?? true { latest = mark }
                continue
            }
            return .member(member)
        }
        return .noneAvailable(category: latest?.category ?? .verdict(.unreachable))
    }

    /// Marks `member` down for ``failTimeout`` after a failed connection (never in a pool of one).
    func markDown(_ pool: GatewayConfiguration.BackendPool, _ member: GatewayConfiguration.Member, category: GatewayOutcome) {
        guard pool.members.count > 1 else { return }
        let mark = Down(until: .now() + failTimeout, category: category)
        balance.withLockedValue { $0.down[Self.key(pool, member)] = mark }
    }

    /// Forgets every mark (the allow-list changed).
    func clearMarks() {
        balance.withLockedValue { $0.down = [:] }
    }

    private static func key(_ pool: GatewayConfiguration.BackendPool, _ member: GatewayConfiguration.Member) -> MemberKey {
        MemberKey(pool: pool.name, member: member)
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

/// The routing table in force; replaced whole when SIGHUP reloads the configuration, while requests already
/// routed finish on the one they started with.
final class RouteTable: Sendable {
    private let value: NIOLockedValueBox<Router>

    init(_ router: Router) {
        value = NIOLockedValueBox(router)
    }

    var current: Router {
        get { value.withLockedValue { $0 } }
        set { value.withLockedValue { $0 = newValue } }
    }
}
