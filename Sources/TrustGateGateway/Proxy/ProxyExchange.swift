/// The request in progress on a client connection and where it goes: its route, the member it was sent to and
/// those already tried.
struct ProxyExchange {
    var id: Int
    var request: HTTP1.Request
    var head: HTTP1.Head { request.head }
    var router: Router
    var route: Router.Route
    var member: GatewayConfiguration.Member
    var tried: Set<String> = []
    /// The upstream connection came from the pool: if the backend closed it before answering and nothing of the
    /// body was sent, the request goes again, once, on a new connection (`avoidPool`).
    var fromPool = false
    var avoidPool = false
    /// The affinity cookie's value the request carried.
    var presentedAffinity: String?
    var bodySent = false
    var target: String { "\(member.host):\(route.settings.port(for: member))" }

    /// The exchange moved to the pool's next allowed and reachable member after this member failed, or nil when
    /// the pool has no other (a pool of one never fails over).
    func failingOver() -> ProxyExchange? {
        guard route.pool.members.count > 1 else { return nil }
        var next = self
        next.tried.insert(member.description)
        guard case .member(let member) = router.pick(route.pool, excluding: next.tried) else { return nil }
        next.member = member
        return next
    }

    /// The exchange again on a new connection, after a pooled one closed before the backend read anything of it;
    /// nil when that cannot be known (body bytes went) or it was already a new connection.
    func retryingOnNewConnection() -> ProxyExchange? {
        guard fromPool, !bodySent else { return nil }
        var again = self
        again.fromPool = false
        again.avoidPool = true
        return again
    }

    /// The `Set-Cookie` for affinity when the member that answers is not the one the request's cookie named.
    func affinityCookie(secure: Bool) -> String {
        guard let affinity = route.settings.affinity, let value = router.affinityValue(route.pool, member) else { return "" }
        return AffinityCookie.setCookie(affinity, value: value, presented: presentedAffinity, secure: secure)
    }
}
