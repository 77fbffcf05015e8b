import NIOCore
import NIOEmbedded
import NIOSSL
import NIOTLS
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

/// ``UpstreamTLSHandler`` and swift-nio-ssl's `NIOSSLServerHandler` on two in-memory channels, the test carrying
/// the bytes between them: every flight of the handshake visible, no socket, no process.
struct TLSBackToBack {
    /// Catches what the TLS handler sends up: its Established event, errors, plaintext.
    final class Observer: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var established: UpstreamTLSHandler.Established?
        var errors: [Error] = []
        var received = ""

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? UpstreamTLSHandler.Established { established = event }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) { errors.append(error) }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
        }
    }

    /// The server side's plaintext, errors, and whether it saw close_notify.
    final class ServerObserver: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var errors: [Error] = []
        var received = ""
        var closeNotify = false

        func channelRead(context: ChannelHandlerContext, data: NIOAny) { received += String(buffer: unwrapInboundIn(data)) }
        func errorCaught(context: ChannelHandlerContext, error: Error) { errors.append(error) }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? TLSUserEvent, case .shutdownCompleted = event { closeNotify = true }
        }
    }

    let client: NIOAsyncTestingChannel
    let server: NIOAsyncTestingChannel
    let tls: UpstreamTLSHandler
    let observer: Observer
    let serverObserver: ServerObserver

    /// A connected pair: our client with `context` and `judge` against a server with `server`'s configuration.
    static func make(
        _ context: UpstreamTLSContext, server serverContext: NIOSSLContext, judge: @escaping UpstreamTLSHandler.Judge,
        sessionKey: String = "backend", identity: UpstreamClientIdentity? = nil
    ) async throws -> TLSBackToBack {
        let tls = try UpstreamTLSHandler(context: context, serverName: TestPKI.backendHost, sessionKey: sessionKey,
                                         generation: 1, identity: identity, judge: judge)
        let observer = Observer()
        let serverObserver = ServerObserver()
        let client = NIOAsyncTestingChannel()
        let server = NIOAsyncTestingChannel()
        try await server.pipeline.addHandlers([NIOSSLServerHandler(context: serverContext), serverObserver])
        try await server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1))
        try await client.pipeline.addHandlers([tls, observer])
        try await client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2))
        return TLSBackToBack(client: client, server: server, tls: tls, observer: observer, serverObserver: serverObserver)
    }

    /// Carries bytes both ways until neither side has anything to send for a while (the judge runs on the pool),
    /// at most `rounds` times.
    func shuttle(rounds: Int = 400) async throws {
        var quiet = 0
        for _ in 0..<rounds where quiet < 20 {
            var moved = false
            while let bytes = try await client.readOutbound(as: ByteBuffer.self) {
                moved = true
                try? await server.writeInbound(bytes)
            }
            while let bytes = try await server.readOutbound(as: ByteBuffer.self) {
                moved = true
                try? await client.writeInbound(bytes)
            }
            await client.testingEventLoop.run()
            quiet = moved ? 0 : quiet + 1
            if !moved { try await Task.sleep(for: .milliseconds(5)) }
        }
    }

    /// The TLS handler's own failure, if it failed.
    var failure: UpstreamTLSHandler.Failure? {
        observer.errors.compactMap { $0 as? UpstreamTLSHandler.Failure }.first
    }

    /// A judge that allows whatever chain could be built, under generation 1.
    static let allowAll: UpstreamTLSHandler.Judge = { evidence in
        await Judgement.of(evidence) { presented in
            let verdict = TrustVerdict(chain: presented, problems: [])
            return (verdict, UpstreamAdmission(generation: 1, verdict: verdict))
        }
    }
}
