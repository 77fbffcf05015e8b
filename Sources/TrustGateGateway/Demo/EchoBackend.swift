import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import TrustGatePKI

/// A small HTTPS backend for the demo and the tests: answers every request with 200 and a text body listing the
/// request line and headers it received (so the X-Forwarded-* set can be checked). Its certificate can be swapped
/// while it runs; new connections see the new one.
public final class EchoBackend: Sendable {
    public let port: Int
    private let channel: Channel
    private let group: MultiThreadedEventLoopGroup
    private let context: NIOLockedValueBox<NIOSSLContext>

    /// Starts on 127.0.0.1, port chosen by the kernel, serving `certificates` (leaf first) with `key`.
    public static func start(certificates: [ParsedCertificate], key: PrivateKeyMaterial) async throws -> EchoBackend {
        let box = NIOLockedValueBox(try makeContext(certificates: certificates, key: key))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: box.withLockedValue { $0 }))
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(EchoHandler())
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            return EchoBackend(port: channel.localAddress?.port ?? 0, channel: channel, group: group, context: box)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private init(port: Int, channel: Channel, group: MultiThreadedEventLoopGroup, context: NIOLockedValueBox<NIOSSLContext>) {
        self.port = port
        self.channel = channel
        self.group = group
        self.context = context
    }

    /// Serves another certificate from the next connection on.
    public func swap(certificates: [ParsedCertificate], key: PrivateKeyMaterial) throws {
        let new = try Self.makeContext(certificates: certificates, key: key)
        context.withLockedValue { $0 = new }
    }

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

/// Answers with the request line and headers.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var received = ""
    private var keepAlive = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
            received = "\(head.method) \(head.uri) \(head.version)\n"
                + head.headers.map { "\($0.name.lowercased()): \($0.value)" }.joined(separator: "\n") + "\n"
        case .body:
            break
        case .end:
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
            headers.add(name: "content-length", value: String(received.utf8.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: received)))), promise: nil)
            let keepAlive = self.keepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}
