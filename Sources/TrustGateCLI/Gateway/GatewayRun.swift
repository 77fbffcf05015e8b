import ArgumentParser
import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import TrustGateAllowList
import TrustGateGateway
import TrustGatePKI

extension GatewayCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run the gateway: terminate client TLS, re-encrypt to allowed backends only.",
            discussion: """
                Loads the configuration, the gateway's allow-list from the store, and every TLS context once; binds \
                the listeners (port 0 picks a free port; each bound address is printed as `listening NAME on \
                ADDRESS:PORT`); then serves until SIGINT or SIGTERM. Every upstream TLS handshake is judged by the \
                allow-list policy on the one trust evaluator; a backend that is not allowed gets the client a 502 \
                naming the reason category, and one log line with the presented leaf's SHA-256, SANs and notAfter \
                and the expected name. Allow-list changes are picked up within 250 ms without a restart, and \
                pooled upstream connections to backends no longer allowed are closed.

                With an admin listener (admin: in the configuration; printed as `admin listening on ADDRESS:PORT`), \
                GET /healthz answers ok, /metrics the Prometheus metrics (requests by pool and status, request \
                duration, upstream handshakes by reason category, each backend certificate's notAfter, open \
                connections) and /backend-health the JSON of gateway backend-health, probed on demand; with \
                admin.token-file every request needs Authorization: Bearer TOKEN. access-log: writes one line per \
                request (time, client, host, method, path, status, pool, member, upstream and total time, bytes) to \
                stdout or a file.

                SIGHUP reloads the configuration without dropping connections: rules, pools, backend settings, \
                listener certificates and TLS policies (a changed gateway name, store or listener address needs \
                a restart; a bad file is reported and the running configuration kept). SIGTERM or SIGINT stop \
                accepting and let requests in flight finish for the configuration's drain-timeout (30 s).

                EXAMPLES:
                  trustgate gateway run --config gateway.yaml
                """
        )

        @Option(help: "The configuration file (YAML).")
        var config: String

        @Option(help: "Log level: trace, debug, info, notice, warning, error.")
        var logLevel: String = "info"

        func run() async throws {
            let configuration = try GatewayCommand.loadConfiguration(config)
            let store: any AllowListStore
            do {
                // A PostgreSQL store is connected to by the start itself, which falls back to the snapshot.
                store = try StoreLocation.open(configuration.store, lazily: true)
            } catch {
                throw CLIError(error, what: "cannot open the allow-list store")
            }
            var logger = Logger(label: "trustgate.gateway")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            let server: GatewayServer
            do {
                server = try await GatewayServer.start(configuration: configuration, store: store, logger: logger)
            } catch {
                switch error.cause {
                case .certificate(let error): throw CLIError(error, what: "cannot load a listener certificate")
                case .configuration(let problems):
                    throw CLIError(what: "invalid configuration", file: config, why: problems.description, status: .dataError)
                case .store(let error): throw CLIError(error, what: "cannot read the allow-list")
                case .listen(let detail):
                    // Binding failed (address in use, permission), or the system refused resources.
                    throw CLIError(what: "cannot start the gateway", file: config, why: detail, status: .ioError)
                }
            }
            // Written unbuffered: scripts and tests wait for these lines.
            for listener in server.listeners {
                Self.emit("listening \(listener.name) on \(listener.address):\(listener.port)")
            }
            if let admin = server.admin {
                Self.emit("admin listening on \(admin.address):\(admin.port)")
            }
            let path = config
            let service = GatewayService(
                server: server, logger: logger, load: { try GatewayCommand.loadConfiguration(path) }, announce: Self.emit
            )
            let group = ServiceGroup(
                services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
            )
            try await group.run()
        }
    }
}

extension GatewayCommand.Run {
    static func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
