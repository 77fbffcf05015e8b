import Foundation
import TrustGateAllowList
import TrustGatePKI

/// A gateway's configuration: listeners, backend pools, backend settings and rules, shaped like Azure Application
/// Gateway's objects. Read from YAML by ``GatewayConfiguration/load(yaml:baseDirectory:)``; every default is
/// documented on its property and in `trustgate-gateway.yaml(5)`.
public struct GatewayConfiguration: Sendable, Equatable {
    /// The allow-list (by gateway name, in the store) this gateway enforces.
    public var gateway: String
    /// The store (a path or a `postgres://` URL); `nil` is the default store (`$TRUSTGATE_STORE`, else the user's data directory).
    public var store: String?
    /// Where the gateway keeps its last-known-good allow-list (written atomically after every load). With a
    /// PostgreSQL store the gateway starts from it when the store is unreachable; `nil`:
    /// `$XDG_STATE_HOME/trustgate/GATEWAY.snapshot.json` (else `~/.local/state/trustgate/…`).
    public var storeSnapshot: String?
    public var listeners: [Listener]
    public var pools: [BackendPool]
    public var backendSettings: [BackendSettings]
    public var rules: [RoutingRule]
    /// How long a stopping gateway (SIGTERM, SIGINT) lets requests in flight finish. Default 30 s.
    public var drainTimeout: TimeInterval = 30
    /// Event-loop threads (nginx's `worker_processes`); `nil`: one per core.
    public var threads: Int?
    /// How long an idle keep-alive client connection is kept (nginx's `keepalive_timeout`). Default 75 s.
    public var clientKeepAliveTimeout: TimeInterval = 75
    /// How long a client may take to send a request head once it began (nginx's `client_header_timeout`);
    /// then 408. Default 60 s.
    public var clientHeaderTimeout: TimeInterval = 60
    /// How long a client may take to read what the gateway sends it before the connection is closed (nginx's
    /// `send_timeout`). Default 60 s.
    public var sendTimeout: TimeInterval = 60
    /// Keep `%2F` and `%5C` in request paths, encoded, instead of refusing them (400). Default false.
    public var allowEncodedSlashes = false
    /// The admin listener (`/healthz`, `/metrics`, `/backend-health`); none by default.
    public var admin: Admin?
    /// `stdout`, or a file the access log is appended to; none by default.
    public var accessLog: String?

    /// Where `/healthz`, `/metrics` (Prometheus) and `/backend-health` (JSON) are served, plain HTTP.
    public struct Admin: Sendable, Equatable {
        /// Default `127.0.0.1`: not exposed unless asked for.
        public var address: String
        public var port: Int
        /// When set, requests need `Authorization: Bearer` and the file's first line.
        public var tokenFile: String?

        public init(address: String = "127.0.0.1", port: Int, tokenFile: String? = nil) {
            self.address = address
            self.port = port
            self.tokenFile = tokenFile
        }

        /// 127.0.0.0/8, `::1` (and its IPv4-mapped form) or `localhost`: reachable from this host only.
        public static func isLoopback(_ address: String) -> Bool {
            if address.lowercased() == "localhost" { return true }
            guard let bytes = IPAddressBytes.parse(address) else { return false }
            if bytes.count == 4 { return bytes[0] == 127 }
            if bytes.count == 16 {
                if bytes.prefix(15).allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
                return bytes.prefix(10).allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
            }
            return false
        }
    }

    /// Each pool and backend setting a rule or path map sends requests to, once, in rule order (redirect rules
    /// send none): what health probes, `backend-health` and connection draining cover.
    public var routedPairs: [(pool: BackendPool, settings: BackendSettings)] {
        var pairs: [(pool: BackendPool, settings: BackendSettings)] = []
        for rule in rules where rule.redirect == nil {
            for (poolName, settingsName) in [(rule.pool, rule.settings)] + rule.paths.map({ ($0.pool, $0.settings) }) {
                guard !pairs.contains(where: { $0.pool.name == poolName && $0.settings.name == settingsName }),
                    let pool = pools.first(where: { $0.name == poolName }),
                    let settings = backendSettings.first(where: { $0.name == settingsName })
                else { continue }
                pairs.append((pool, settings))
            }
        }
        return pairs
    }

    /// Where the gateway accepts client connections.
    public struct Listener: Sendable, Equatable {
        public var name: String
        /// Default `0.0.0.0`.
        public var address: String
        public var port: Int
        /// Default `https`.
        public var scheme: Scheme
        /// Required for `https`.
        public var certificate: ListenerCertificate?
        /// Host names this listener serves (multi-site; `*.` wildcards); empty: any. Listeners on the same
        /// address and port form one socket; SNI picks the certificate and Host the listener.
        public var hostNames: [String]
        public var tls: TLSPolicy
        /// Refuse TLS handshakes whose SNI names no site on this listener's address and port.
        public var requireSNI = false
        /// The most client connections open at once on this listener's socket; accepting pauses beyond it.
        public var maxConnections = Listener.defaultMaxConnections
        /// Default 10,000 (the gateway raises its open-file limit to make room for them).
        public static let defaultMaxConnections = 10_000

        /// Whether this listener serves `host` (lowercase, without port).
        public func serves(_ host: String) -> Bool {
            hostNames.contains { name in
                name == host || (name.hasPrefix("*.") && host.hasSuffix(name.dropFirst()) && host.count > name.count - 1)
            }
        }
    }

    public enum Scheme: String, Sendable, Equatable {
        case http
        case https
    }

    /// The listener's certificate: a PFX with its password file, or a PEM certificate chain and key.
    public enum ListenerCertificate: Sendable, Hashable {
        case pfx(path: String, passwordFile: String?)
        case pem(certificate: String, key: String)
    }

    /// Client-side TLS policy of a listener.
    public struct TLSPolicy: Sendable, Equatable {
        /// `1.2` (default) or `1.3`.
        public var minimumVersion: String
        /// OpenSSL-style cipher suite names for TLS 1.2; empty: the library's secure defaults.
        public var cipherSuites: [String]

        public static let `default` = TLSPolicy(minimumVersion: "1.2", cipherSuites: [])
    }

    /// A set of backends traffic is balanced over (round-robin).
    public struct BackendPool: Sendable, Equatable {
        public var name: String
        public var members: [Member]
    }

    /// One backend: a host name or IP address, and a port (or the settings' port).
    public struct Member: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int?

        public init(host: String, port: Int?) {
            self.host = host
            self.port = port
        }

        public var description: String {
            let shown = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
            return port.map { "\(shown):\($0)" } ?? shown
        }
    }

    /// How the gateway talks to a pool's members.
    public struct BackendSettings: Sendable, Equatable {
        public var name: String
        /// Default `https`.
        public var scheme: Scheme
        /// Overrides the member's port.
        public var port: Int?
        /// The host name sent as SNI and Host and checked against the certificate; `nil` with
        /// `pickHostNameFromMember` false means the member's host.
        public var hostName: String?
        /// Use the member's host as the host name (Azure "pick host name from backend address").
        public var pickHostNameFromMember: Bool
        /// Default `trusted-root`.
        public var trust: TrustMode
        /// Default 30 s.
        public var requestTimeout: TimeInterval
        /// Default 10 s: the TCP connect and the TLS handshake together.
        public var connectTimeout: TimeInterval
        /// Between two reads from the backend once its response began (nginx's `proxy_read_timeout`); then both
        /// connections close. Default 60 s.
        public var readTimeout: TimeInterval = 60
        /// How long a WebSocket tunnel may carry nothing either way before both connections close. Default 1 h.
        public var webSocketIdleTimeout: TimeInterval = 3600
        /// How strictly the backend's chain is judged. Default `strict`.
        public var verificationProfile = VerificationProfile.strict
        /// Cookie-based affinity (Azure's); off by default.
        public var affinity: Affinity? = nil
        /// Active health probe; without one, `backend-health` probes `GET /` and the runtime probes nothing.
        public var probe: Probe? = nil
        /// A client certificate the gateway presents to backends that ask for one (mutual TLS upstream).
        public var clientCertificate: ListenerCertificate? = nil

        /// The port used for a member: the settings' override, the member's own, else the protocol's default.
        public func port(for member: Member) -> Int {
            port ?? member.port ?? (scheme == .https ? 443 : 80)
        }

        /// The Host header a member gets: the host name, with the port unless it is the protocol's default.
        public func hostHeader(for member: Member) -> String {
            let name = hostName(for: member)
            let shown = name.utf8.contains(UInt8(ascii: ":")) ? "[\(name)]" : name
            let port = port(for: member)
            return port == (scheme == .https ? 443 : 80) ? shown : "\(shown):\(port)"
        }

        /// The host name used for a member: SNI, Host header and certificate check.
        public func hostName(for member: Member) -> String {
            if pickHostNameFromMember { return member.host }
            return hostName ?? member.host
        }
    }

    /// Which pool and settings a listener's requests go to, optionally by URL path.
    /// A health probe, as Azure's custom probe: what is requested, how often, and what counts as healthy.
    public struct Probe: Sendable, Equatable {
        public var path: String = "/"
        public var interval: TimeInterval = 30
        public var timeout: TimeInterval = 30
        /// Consecutive failures that make a member unhealthy; one success makes it healthy again.
        public var unhealthyThreshold: Int = 3
        /// Accepted statuses; default 200-399.
        public var statuses: [ClosedRange<Int>] = [200...399]
        /// The body must contain this, when set.
        public var bodyMatch: String? = nil

        public init() {}

        public var statusesDescription: String {
            statuses.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
                .joined(separator: ",")
        }
    }

    /// Cookie-based affinity: the gateway issues a cookie naming the member that answered, and sends later
    /// requests carrying it to that member while it is available.
    public struct Affinity: Sendable, Equatable {
        /// Default `TrustGateAffinity`.
        public var cookieName: String
        /// Adds `SameSite=None` (for cross-site use; the cookie is `Secure` on HTTPS listeners anyway).
        public var sameSiteNone: Bool

        public init(cookieName: String = "TrustGateAffinity", sameSiteNone: Bool = false) {
            self.cookieName = cookieName
            self.sameSiteNone = sameSiteNone
        }
    }

    public struct RoutingRule: Sendable, Equatable {
        public var name: String
        public var listener: String
        /// Empty for a redirect rule.
        public var pool: String
        public var settings: String
        public var paths: [PathRule]
        /// Answer with a redirect instead of proxying (Azure's redirect configuration).
        public var redirect: Redirect? = nil
        /// Header rewrites (Azure's rewrite sets).
        public var rewrite: HeaderRewrite? = nil
    }

    /// Fields set (replacing any of the same name) or removed on the request to the backend and on the response
    /// to the client. Names are kept lowercase.
    public struct HeaderRewrite: Sendable, Equatable {
        public struct Field: Sendable, Equatable {
            public var name: String
            public var value: String

            public init(name: String, value: String) {
                self.name = name
                self.value = value
            }
        }

        public var requestSet: [Field] = []
        public var requestRemove: [String] = []
        public var responseSet: [Field] = []
        public var responseRemove: [String] = []

        public init() {}

        /// Names a rewrite may not touch: the gateway writes them (framing, connection, Host, forwarding).
        public static let reserved: Set<String> = [
            "host", "connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade",
            "proxy-connection", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-forwarded-host",
            "x-original-host",
        ]
    }

    /// A redirect to another listener, e.g. HTTP to HTTPS.
    public struct Redirect: Sendable, Equatable {
        public var listener: String
        /// 301 (default, permanent), 302, 303, 307 or 308.
        public var status: Int = 301
        public var includePath = true
        public var includeQuery = true

        public init(listener: String, status: Int = 301, includePath: Bool = true, includeQuery: Bool = true) {
            self.listener = listener
            self.status = status
            self.includePath = includePath
            self.includeQuery = includeQuery
        }
    }

    /// A URL path map entry: `/images/*` or an exact path; the longest match wins.
    public struct PathRule: Sendable, Equatable {
        public var match: String
        public var pool: String
        public var settings: String
    }
}
