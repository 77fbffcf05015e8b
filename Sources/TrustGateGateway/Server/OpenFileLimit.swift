#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The process's open-file limit, raised for the listeners' `max-connections` (as nginx's
/// `worker_rlimit_nofile`): each client connection may hold an upstream connection too.
enum OpenFileLimit {
    /// Raises the soft limit towards `needed` (never past the hard limit); the limit in force afterwards.
    @discardableResult
    static func raise(to needed: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        let wanted = rlim_t(max(0, needed))
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = min(wanted, limit.rlim_max)  // RLIM_INFINITY is the largest rlim_t
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }

    /// What the listeners of `configuration` may need: two descriptors per connection, and some to spare.
    static func needed(for configuration: GatewayConfiguration) -> Int {
        let sockets = GatewayServer.siteGroups(configuration.listeners)
        let connections = sockets.reduce(0) { total, sites in
            let (sum, overflow) = total.addingReportingOverflow(sites[0].maxConnections)
            return overflow ? Int.max / 4 : sum
        }
        return min(Int.max / 4, connections) * 2 + 256
    }
}
