/// A member of a pool, as the router's marks, the affinity table and the health monitor key it: the pool's name and
/// the member's `host:port`, compared as two values (no separator that a name could contain).
struct MemberKey: Hashable, Sendable {
    let pool: String
    let member: String

    init(pool: String, member: GatewayConfiguration.Member) {
        self.pool = pool
        self.member = member.description
    }
}
