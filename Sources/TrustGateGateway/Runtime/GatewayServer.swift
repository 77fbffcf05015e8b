import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import TrustGateAllowList
import TrustGatePKI

/// The running gateway: its listeners, the allow-list it enforces (reloaded live), and the upstream connector.
public final class GatewayServer: Sendable {
    /// A bound listener.
    public struct Bound: Sendable {
        public var name: String
        public var address: String
        public var port: Int
    }

    public let listeners: [Bound]
    private let group: MultiThreadedEventLoopGroup
    private let channels: [Channel]
    private let watcher: AllowListWatcher
    private let logger: Logger

    /// Loads the allow-list, builds every TLS context once, binds every listener, and starts watching the store.
    public static func start(
        configuration: GatewayConfiguration, store: any AllowListStore, logger: Logger,
        threads: Int = System.coreCount
    ) async throws -> GatewayServer {
        let state = AllowListState(
            gateway: configuration.gateway, version: try store.version(gateway: configuration.gateway),
            entries: try store.entries(gateway: configuration.gateway)
        )
        let connector = try UpstreamConnector(state: state)
        let router = Router(configuration: configuration)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        var channels: [Channel] = []
        var bound: [Bound] = []
        do {
            for listener in configuration.listeners {
                let sslContext = try listener.scheme == .https ? makeListenerContext(listener) : nil
                let channel = try await bind(
                    listener, sslContext: sslContext, group: group, gateway: configuration.gateway, router: router,
                    connector: connector, logger: logger
                )
                channels.append(channel)
                bound.append(Bound(name: listener.name, address: listener.address, port: channel.localAddress?.port ?? 0))
            }
        } catch {
            for channel in channels { try? await channel.close() }
            try? await group.shutdownGracefully()
            throw error
        }
        let watcher = AllowListWatcher(store: store, state: state, logger: logger) { _ in
            Task { await connector.registry.revalidate(with: state, logger: logger) }
        }
        return GatewayServer(listeners: bound, group: group, channels: channels, watcher: watcher, logger: logger)
    }

    private init(listeners: [Bound], group: MultiThreadedEventLoopGroup, channels: [Channel], watcher: AllowListWatcher,
                 logger: Logger) {
        self.listeners = listeners
        self.group = group
        self.channels = channels
        self.watcher = watcher
        self.logger = logger
    }

    /// Stops accepting, closes the listeners and stops the event loops.
    public func shutdown() async {
        watcher.stop()
        for channel in channels { try? await channel.close() }
        try? await group.shutdownGracefully()
    }

    private static func bind(
        _ listener: GatewayConfiguration.Listener, sslContext: NIOSSLContext?, group: EventLoopGroup, gateway: String,
        router: Router, connector: UpstreamConnector, logger: Logger
    ) async throws -> Channel {
        // The bound port (for port 0) is known only after bind; the handlers read it from this box.
        let portBox = PortBox()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    let environment = ProxyHandler.Environment(
                        gateway: gateway, listener: listener, boundPort: portBox.port, router: router,
                        connector: connector, logger: logger
                    )
                    try channel.pipeline.syncOperations.addHandler(ProxyHandler(environment: environment))
                }
            }
            .bind(host: listener.address, port: listener.port).get()
        portBox.port = channel.localAddress?.port ?? listener.port
        return channel
    }

    /// The listener's TLS context, built once: its certificate chain and key from a PFX or PEM files.
    static func makeListenerContext(_ listener: GatewayConfiguration.Listener) throws -> NIOSSLContext {
        let bundle: CertificateBundle
        switch listener.certificate {
        case .pfx(let path, let passwordFile):
            let password = try passwordFile.map { Password(fileContents: Array(try Data(contentsOf: URL(fileURLWithPath: $0)))) }
            bundle = try CertificateBundle.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))), password: password)
        case .pem(let certificate, let key):
            var chain = try CertificateBundle.decode(Array(try Data(contentsOf: URL(fileURLWithPath: certificate))))
            chain.privateKeys = try CertificateBundle.decode(Array(try Data(contentsOf: URL(fileURLWithPath: key)))).privateKeys
            bundle = chain
        case nil:
            throw ConfigurationProblems([ConfigurationProblem(path: "listeners.\(listener.name)", line: nil, column: nil,
                                                              message: "an https listener needs a certificate")])
        }
        guard let key = bundle.privateKeys.first, let leaf = bundle.certificates.first, key.matches(leaf) else {
            throw ConfigurationProblems([ConfigurationProblem(path: "listeners.\(listener.name).certificate", line: nil,
                                                              column: nil, message: "the certificate and key do not match")])
        }
        let chain = try bundle.certificates.map { NIOSSLCertificateSource.certificate(try NIOSSLCertificate(bytes: $0.der, format: .der)) }
        let privateKey = try NIOSSLPrivateKey(bytes: try key.pkcs8DER(), format: .der)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
        tls.minimumTLSVersion = listener.tls.minimumVersion == "1.3" ? .tlsv13 : .tlsv12
        if !listener.tls.cipherSuites.isEmpty { tls.cipherSuites = listener.tls.cipherSuites.joined(separator: ":") }
        return try NIOSSLContext(configuration: tls)
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
