import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import TrustGateAllowList
import TrustGatePKI

/// The running gateway: its listeners, the allow-list it enforces (reloaded live), the routing table (replaced
/// on ``reload(_:)``), the shared upstream connection pool, and the open client connections (drained on
/// ``shutdown(drainTimeout:)``).
public final class GatewayServer: Sendable {
    /// A bound listener.
    public struct Bound: Sendable {
        public var name: String
        public var address: String
        public var port: Int
    }

    public let listeners: [Bound]
    /// The admin listener, when configured.
    public let admin: Bound?
    private let adminChannel: Channel?
    private let accessLog: AccessLog?
    private let group: MultiThreadedEventLoopGroup
    private let channels: [Channel]
    private let watcher: AllowListWatcher
    private let routes: RouteTable
    private let connector: UpstreamConnector
    private let connections: ClientConnections
    private let listenerContexts: [String: ListenerContext]
    private let configuration: NIOLockedValueBox<GatewayConfiguration>
    private let logger: Logger
    private let health: HealthMonitor
    private let state: AllowListState
    private let metrics: GatewayMetrics

    /// Loads the allow-list, builds every TLS context once, binds every listener, and starts watching the store.
    public static func start(
        configuration: GatewayConfiguration, store: any AllowListStore, logger: Logger,
        threads: Int? = nil
    ) async throws(GatewayError) -> GatewayServer {
        do {
            return try await serve(configuration: configuration, store: store, logger: logger, threads: threads)
        } catch {
            throw GatewayError(starting: error)
        }
    }

    private static func serve(
        configuration: GatewayConfiguration, store: any AllowListStore, logger: Logger, threads: Int?
    ) async throws -> GatewayServer {
        let threads = threads ?? configuration.threads ?? System.coreCount
        let needed = OpenFileLimit.needed(for: configuration)
        let files = OpenFileLimit.raise(to: needed)
        if files < needed {
            logger.warning("the open-file limit is below what max-connections may need", metadata: [
                "limit": "\(files)", "needed": "\(needed)",
            ])
        }
        let starting = try StartingAllowList.load(configuration: configuration, store: store, logger: logger)
        let state = starting.state
        let connector = try UpstreamConnector(state: state)
        try connector.loadIdentities(configuration)
        let health = HealthMonitor()
        let routes = RouteTable(Router(configuration: configuration, health: health))
        let metrics = GatewayMetrics()
        let storeHealth = StoreHealth(metrics: metrics, remote: store is PostgresAllowListStore, initial: starting.status)
        let connections = ClientConnections(metrics: metrics)
        let accessLog = try configuration.accessLog.map { try AccessLog(destination: $0) }
        let token = try configuration.admin?.tokenFile.map { try AdminServer.readToken($0) }
        let configurationBox = NIOLockedValueBox(configuration)
        // Listeners on one address and port are one socket (multi-site); every listener of a socket shares its
        // TLS context box.
        var contexts: [String: ListenerContext] = [:]
        let sockets = siteGroups(configuration.listeners)
        for sites in sockets {
            let box = ListenerContext(try sites[0].scheme == .https ? makeListenerContext(sites) : nil)
            for listener in sites { contexts[listener.name] = box }
        }
        let boundPorts = BoundPorts()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        var channels: [Channel] = []
        var bound: [Bound] = []
        var adminChannel: Channel?
        do {
            for sites in sockets {
                let primary = sites.first { $0.hostNames.isEmpty } ?? sites[0]
                let environment = ProxyHandler.Environment(
                    gateway: configuration.gateway, listener: primary, boundPort: 0, routes: routes,
                    connector: connector, connections: connections, logger: logger, metrics: metrics,
                    accessLog: accessLog, boundPorts: boundPorts
                )
                let channel = try await bind(primary, context: contexts[primary.name] ?? ListenerContext(nil),
                                             group: group, environment: environment)
                channels.append(channel)
                let port = channel.localAddress?.port ?? 0
                for listener in sites {
                    bound.append(Bound(name: listener.name, address: listener.address, port: port))
                    boundPorts.set(listener.name, port)
                }
            }
            if let admin = configuration.admin {
                let endpoints = AdminServer.Endpoints(metrics: metrics, health: {
                    storeHealth.line(version: state.version)
                }, backendHealth: {
                    let current = configurationBox.withLockedValue { $0 }
                    let report = await BackendProbe.probeAll(current, connector: connector, state: state, group: group)
                        .map(\.health)
                    return BackendHealth.json(report)
                }, token: token)
                adminChannel = try await AdminServer.bind(admin, group: group, endpoints: endpoints)
            }
        } catch {
            try? await adminChannel?.close()
            for channel in channels { try? await channel.close() }
            try? await group.shutdownGracefully()
            throw error
        }
        health.start(configuration, connector: connector, state: state, group: group, logger: logger, metrics: metrics)
        let watcher = AllowListWatcher(
            store: store, state: state, health: storeHealth, snapshot: starting.snapshotPath,
            snapshotWritten: starting.snapshotWritten, metrics: metrics, logger: logger
        ) {
            routes.current.clearMarks()
            Task(executorPreference: ThreadPoolExecutor.judge) {
                await connector.registry.revalidate(with: state, logger: logger)
            }
        }
        let adminBound = configuration.admin.map {
            Bound(name: "admin", address: $0.address, port: adminChannel?.localAddress?.port ?? $0.port)
        }
        return GatewayServer(
            listeners: bound, admin: adminBound, adminChannel: adminChannel, accessLog: accessLog, group: group,
            channels: channels, watcher: watcher, routes: routes, connector: connector, connections: connections,
            listenerContexts: contexts, configuration: configurationBox, logger: logger, health: health, state: state,
            metrics: metrics
        )
    }

    private init(
        listeners: [Bound], admin: Bound?, adminChannel: Channel?, accessLog: AccessLog?,
        group: MultiThreadedEventLoopGroup, channels: [Channel], watcher: AllowListWatcher, routes: RouteTable,
        connector: UpstreamConnector, connections: ClientConnections, listenerContexts: [String: ListenerContext],
        configuration: NIOLockedValueBox<GatewayConfiguration>, logger: Logger, health: HealthMonitor,
        state: AllowListState, metrics: GatewayMetrics
    ) {
        self.listeners = listeners
        self.admin = admin
        self.adminChannel = adminChannel
        self.accessLog = accessLog
        self.group = group
        self.channels = channels
        self.watcher = watcher
        self.routes = routes
        self.connector = connector
        self.connections = connections
        self.listenerContexts = listenerContexts
        self.configuration = configuration
        self.logger = logger
        self.health = health
        self.state = state
        self.metrics = metrics
    }

    /// Open client connections (for tests and the admin view).
    public var openConnections: Int { connections.count }

    /// The drain timeout of the configuration in force, in seconds.
    public var drainTimeout: Double { configuration.withLockedValue { $0.drainTimeout } }

    /// Idle upstream connections in the pool.
    public var idleUpstreamConnections: Int { connector.pool.idleCount }

    /// Applies a new configuration without dropping established connections (SIGHUP, as nginx's reload): new
    /// routing rules, pools and backend settings for the next request, new listener certificates and TLS
    /// policies for the next handshake. What needs new sockets or another allow-list — the gateway name, the
    /// store, the set of listeners and their addresses, ports and protocols — needs a restart, and is refused.
    public func reload(_ new: GatewayConfiguration) throws {
        let old = configuration.withLockedValue { $0 }
        var problems: [ConfigurationProblem] = []
        func needsRestart(_ path: String, _ what: String) {
            problems.append(ConfigurationProblem(path: path, line: nil, column: nil,
                                                 message: "\(what) changed: that needs a restart, not a reload"))
        }
        if new.gateway != old.gateway { needsRestart("gateway", "the gateway name") }
        if new.store != old.store { needsRestart("store", "the store") }
        if new.threads != old.threads { needsRestart("threads", "the number of threads") }
        if new.admin != old.admin { needsRestart("admin", "the admin listener") }
        if new.accessLog != old.accessLog { needsRestart("access-log", "the access log") }
        let shape = { (listeners: [GatewayConfiguration.Listener]) in
            listeners.map { "\($0.name) \($0.address) \($0.port) \($0.scheme)" }
        }
        if shape(new.listeners) != shape(old.listeners) {
            needsRestart("listeners", "a listener's name, address, port or protocol")
        }
        guard problems.isEmpty else { throw ConfigurationProblems(problems) }
        // Build every new TLS context before swapping anything: a bad certificate leaves the old config whole.
        var contexts: [(ListenerContext, NIOSSLContext)] = []
        for sites in Self.siteGroups(new.listeners) where sites[0].scheme == .https {
            if let box = listenerContexts[sites[0].name] { contexts.append((box, try Self.makeListenerContext(sites))) }
        }
        try connector.loadIdentities(new)
        for (box, context) in contexts { box.current = context }
        routes.current = Router(configuration: new, health: health)
        // Connection draining: backends that left every pool get nothing new; their requests in flight finish,
        // and their connections close when idle.
        connector.pool.retire(previous: Self.targets(old), active: Self.targets(new))
        health.start(new, connector: connector, state: state, group: group, logger: logger, metrics: metrics)
        configuration.withLockedValue { $0 = new }
    }

    /// Stops accepting, lets requests in flight finish for up to `drainTimeout` (idle connections close at
    /// once; busy ones after their response, sent with `Connection: close`), then closes what is left and
    /// stops the event loops.
    public func shutdown(drainTimeout: Duration = .seconds(30)) async {
        for channel in channels { try? await channel.close() }
        connections.drain()
        let deadline = ContinuousClock.now + drainTimeout
        while connections.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let left = connections.count
        if left > 0 {
            logger.warning("drain deadline reached: closing connections still busy", metadata: ["connections": "\(left)"])
        }
        watcher.stop()
        try? await adminChannel?.close()
        accessLog?.flush()
        connections.closeAll()
        health.stop()
        connector.pool.closeAll()
        try? await group.shutdownGracefully()
    }

    private static func bind(
        _ listener: GatewayConfiguration.Listener, context: ListenerContext, group: EventLoopGroup,
        environment: ProxyHandler.Environment
    ) async throws -> Channel {
        // The bound port (for port 0) is known only after bind; the handlers read it from this box.
        let portBox = PortBox()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptLimiter(
                        limit: listener.maxConnections, listener: listener.name, metrics: environment.metrics
                    ))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext = context.current {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    // No HTTP codecs: ProxyHandler reads and writes HTTP/1.1 as bytes (HTTP1).
                    var environment = environment
                    environment.boundPort = portBox.port
                    try channel.pipeline.syncOperations.addHandler(ProxyHandler(environment: environment))
                }
            }
            .bind(host: listener.address, port: listener.port).get()
        portBox.port = channel.localAddress?.port ?? listener.port
        return channel
    }

    /// The listener's TLS context, built once: its certificate chain and key from a PFX or PEM files.
    /// Every `host:port` a configuration's rules can send requests to.
    static func targets(_ configuration: GatewayConfiguration) -> Set<String> {
        Set(configuration.routedPairs.flatMap { pool, settings in
            pool.members.map { "\($0.host):\(settings.port(for: $0))" }
        })
    }

    /// The listeners grouped by socket: those on the same address and port (other than 0) share one.
    static func siteGroups(_ listeners: [GatewayConfiguration.Listener]) -> [[GatewayConfiguration.Listener]] {
        var groups: [[GatewayConfiguration.Listener]] = []
        for listener in listeners {
            if listener.port != 0,
                let index = groups.firstIndex(where: { $0[0].port == listener.port && $0[0].address == listener.address })
            {
                groups[index].append(listener)
            } else {
                groups.append([listener])
            }
        }
        return groups
    }

    /// The TLS context of one socket. With several sites (or `require-sni`), the certificate is chosen per
    /// handshake by SNI: the site that serves the name, else the default site's (the one without host names);
    /// with `require-sni`, a handshake naming no site is refused. The TLS policy is the default site's.
    static func makeListenerContext(_ sites: [GatewayConfiguration.Listener]) throws -> NIOSSLContext {
        let primary = sites.first { $0.hostNames.isEmpty } ?? sites[0]
        let material = try sites.map { ($0, try certificateMaterial($0)) }
        let (chain, privateKey) = material.first { $0.0.name == primary.name }?.1 ?? material[0].1
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
        tls.minimumTLSVersion = primary.tls.minimumVersion == "1.3" ? .tlsv13 : .tlsv12
        if !primary.tls.cipherSuites.isEmpty { tls.cipherSuites = primary.tls.cipherSuites.joined(separator: ":") }
        let requireSNI = sites.contains { $0.requireSNI }
        if sites.count > 1 || requireSNI {
            let table = material.map { (listener: $0.0, chain: $0.1.0, key: $0.1.1) }
            tls.sslContextCallback = { values, promise in
                let name = values.serverHostname?.lowercased()
                if let name, let site = table.first(where: { $0.listener.serves(name) }) {
                    var override = NIOSSLContextConfigurationOverride()
                    override.certificateChain = site.chain
                    override.privateKey = .privateKey(site.key)
                    promise.succeed(override)
                } else if requireSNI {
                    promise.fail(SNIRefused(name: name))
                } else {
                    promise.succeed(.noChanges)
                }
            }
        }
        return try NIOSSLContext(configuration: tls)
    }

    struct SNIRefused: Error, CustomStringConvertible {
        var name: String?
        var description: String { "require-sni: \(name.map { "no site serves \($0)" } ?? "the client sent no SNI")" }
    }

    /// A listener's certificate chain and key, read from its PFX or PEM files.
    static func certificateMaterial(_ listener: GatewayConfiguration.Listener) throws
        -> ([NIOSSLCertificateSource], NIOSSLPrivateKey)
    {
        guard let certificate = listener.certificate else {
            throw ConfigurationProblems([ConfigurationProblem(path: "listeners.\(listener.name)", line: nil, column: nil,
                                                              message: "an https listener needs a certificate")])
        }
        let (bundle, key) = try identity(certificate, path: "listeners.\(listener.name).certificate")
        let chain = try bundle.certificates.map { NIOSSLCertificateSource.certificate(try NIOSSLCertificate(bytes: $0.der, format: .der)) }
        return (chain, try NIOSSLPrivateKey(bytes: try key.pkcs8DER(), format: .der))
    }

    /// A certificate chain and its matching key, read from a PFX or PEM files. Every failure names the file: a
    /// missing one is a configuration problem (at `path`), a bad one the PKI error.
    static func identity(_ certificate: GatewayConfiguration.ListenerCertificate, path: String) throws
        -> (CertificateBundle, PrivateKeyMaterial)
    {
        func read(_ file: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ConfigurationProblems([ConfigurationProblem(path: path, line: nil, column: nil, message: "cannot read \(file)")])
            }
            return Array(data)
        }
        func decode(_ file: String, password: Password? = nil) throws -> CertificateBundle {
            do {
                return try CertificateBundle.decode(try read(file), password: password)
            } catch let error as PKIError {
                throw error.about(file: error.file ?? file)
            }
        }
        let bundle: CertificateBundle
        switch certificate {
        case .pfx(let file, let passwordFile):
            bundle = try decode(file, password: try passwordFile.map { Password(fileContents: try read($0)) })
        case .pem(let certificateFile, let keyFile):
            var chain = try decode(certificateFile)
            chain.privateKeys = try decode(keyFile).privateKeys
            bundle = chain
        }
        guard let key = bundle.privateKeys.first, let leaf = bundle.certificates.first, key.matches(leaf) else {
            throw ConfigurationProblems([ConfigurationProblem(path: path, line: nil, column: nil,
                                                              message: "the certificate and key do not match")])
        }
        return (bundle, key)
    }
}

/// A listener's TLS context, read by each new connection; replaced on reload.
final class ListenerContext: Sendable {
    private let value: NIOLockedValueBox<NIOSSLContext?>

    init(_ context: NIOSSLContext?) {
        value = NIOLockedValueBox(context)
    }

    var current: NIOSSLContext? {
        get { value.withLockedValue { $0 } }
        set { value.withLockedValue { $0 = newValue } }
    }
}

/// The bound port, written after bind and read by every connection.
private final class PortBox: Sendable {
    private let value = NIOLockedValueBox(0)
    var port: Int {
        get { value.withLockedValue { $0 } }
        set { value.withLockedValue { $0 = newValue } }
    }
}
