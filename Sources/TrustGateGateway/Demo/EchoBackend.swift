import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import TrustGatePKI

/// A small HTTPS backend for the demo and the tests: answers every request with 200 and a text body listing the
/// request line and headers it received (so the X-Forwarded-* set can be checked). Its certificate can be swapped
/// while it runs, as a backend restarting with a new certificate: open connections are closed, new ones see the
/// new certificate. It counts the TCP connections it accepted (to observe upstream connection reuse).
public final class EchoBackend: Sendable {
    public let port: Int
    private let channel: Channel
    private let group: MultiThreadedEventLoopGroup
    private let context: NIOLockedValueBox<NIOSSLContext>
    private let connections: ConnectionSet

    /// Starts on 127.0.0.1, port chosen by the kernel, serving `certificates` (leaf first) with `key`.
    public static func start(certificates: [ParsedCertificate], key: PrivateKeyMaterial) async throws -> EchoBackend {
        let box = NIOLockedValueBox(try makeContext(certificates: certificates, key: key))
        let connections = ConnectionSet()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    connections.add(channel)
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: box.withLockedValue { $0 }))
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(EchoHandler())
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            return EchoBackend(port: channel.localAddress?.port ?? 0, channel: channel, group: group, context: box,
                               connections: connections)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private init(port: Int, channel: Channel, group: MultiThreadedEventLoopGroup, context: NIOLockedValueBox<NIOSSLContext>,
                 connections: ConnectionSet) {
        self.connections = connections
        self.port = port
        self.channel = channel
        self.group = group
        self.context = context
    }

    /// Serves another certificate from the next connection on, and closes the open ones.
    public func swap(certificates: [ParsedCertificate], key: PrivateKeyMaterial) throws {
        let new = try Self.makeContext(certificates: certificates, key: key)
        context.withLockedValue { $0 = new }
        connections.closeAll()
    }

    /// TCP connections accepted since the start.
    public var acceptedConnections: Int { connections.accepted }

    /// TCP connections open now.
    public var openConnections: Int { connections.openCount }

    public func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    static func makeContext(certificates: [ParsedCertificate], key: PrivateKeyMaterial) throws -> NIOSSLContext {
        let chain = try certificates.map { NIOSSLCertificateSource.certificate(try NIOSSLCertificate(bytes: $0.der, format: .der)) }
        let privateKey = try NIOSSLPrivateKey(bytes: try key.pkcs8DER(), format: .der)
        return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey)))
    }
}

/// Answers with the request line, the headers, the number of body bytes received and its own port (`served-by`); a path under `/slow/` is
/// answered after 1.5 s (a request in flight, for drain tests), one under `/chunked/` with a chunked body.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var received = ""
    private var bodyBytes = 0
    private var keepAlive = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
            received = "\(head.method) \(head.uri) \(head.version)\n"
                + head.headers.map { "\($0.name.lowercased()): \($0.value)" }.joined(separator: "\n") + "\n"
            bodyBytes = 0
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
        case .end:
            received += "body-bytes: \(bodyBytes)\nserved-by: \(context.channel.localAddress?.port ?? 0)\n"
            if received.contains(" /slow/") {
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(1500)) {
                    let (handler, context) = bound.value
                    handler.respond(context: context)
                }
            } else {
                respond(context: context)
            }
        }
    }

    private func respond(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        let chunked = received.contains(" /chunked/")
        if !chunked { headers.add(name: "content-length", value: String(received.utf8.count)) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        if chunked {  // no length: NIO frames the body in chunks, here two
            let half = received.utf8.count / 2
            for part in [received.utf8.prefix(half), received.utf8.dropFirst(half)] {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: part)))), promise: nil)
            }
        } else {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: received)))), promise: nil)
        }
        let keepAlive = self.keepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}

/// The backend's open connections, and how many it accepted.
final class ConnectionSet: Sendable {
    private let state = NIOLockedValueBox<(open: [ObjectIdentifier: Channel], accepted: Int)>(([:], 0))

    func add(_ channel: Channel) {
        let key = ObjectIdentifier(channel)
        state.withLockedValue {
            $0.open[key] = channel
            $0.accepted += 1
        }
        channel.closeFuture.whenComplete { [state] _ in
            _ = state.withLockedValue { $0.open.removeValue(forKey: key) }
        }
    }

    var accepted: Int { state.withLockedValue { $0.accepted } }
    var openCount: Int { state.withLockedValue { $0.open.count } }

    func closeAll() {
        for channel in state.withLockedValue({ Array($0.open.values) }) { channel.close(promise: nil) }
    }
}
