import Logging
import ServiceLifecycle
import UnixSignals

/// The running gateway as a swift-service-lifecycle service: SIGHUP reloads the configuration (a bad one is
/// logged and the running one kept, as `nginx -s reload` does); graceful shutdown (SIGTERM, SIGINT, through the
/// ``ServiceGroup``) drains requests in flight for the configuration's `drain-timeout`.
public struct GatewayService: Service {
    public typealias Loader = @Sendable () throws -> GatewayConfiguration

    let server: GatewayServer
    let load: Loader
    let logger: Logger
    let announce: @Sendable (String) -> Void

    /// `load` reads the configuration file again for each SIGHUP; `announce` prints lifecycle lines that
    /// scripts wait for (`reloaded`, `reload refused: …`, `stopping`, `stopped`).
    public init(server: GatewayServer, logger: Logger, load: @escaping Loader, announce: @escaping @Sendable (String) -> Void) {
        self.server = server
        self.load = load
        self.logger = logger
        self.announce = announce
    }

    public func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in hangups.cancelOnGracefulShutdown() {
                    reload()
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        let drain = server.drainTimeout
        announce("stopping: draining requests in flight for up to \(Int(drain)) s")
        await server.shutdown(drainTimeout: .seconds(clamping: drain))
        announce("stopped")
    }

    private func reload() {
        do {
            try server.reload(try load())
            logger.notice("configuration reloaded")
            announce("reloaded")
        } catch {
            logger.error("configuration not reloaded: the running one is kept", metadata: ["error": "\(error)"])
            announce("reload refused: \(error)")
        }
    }
}
