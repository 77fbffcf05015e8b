import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTPS client that keeps one connection open and sends `GET` requests on it one at a time, reconnecting
/// only when the server closes it — what a browser or a load balancer's health probe does. A poll through it
/// costs one request on a warm connection, not a process start and a TLS handshake as `curl` does, so a test
/// that measures how fast a gateway changes its answer measures the gateway, even on a loaded machine.
/// Blocking; call it from a thread of its own (``blocking(_:)``), never from an event loop.
public final class KeepAliveClient: @unchecked Sendable {
    private let host: String
    private let serverName: String
    private let port: Int
    private let context: NIOSSLContext
    private let group: MultiThreadedEventLoopGroup
    private var channel: Channel?
    private var pending: ResponseCollector?

    /// `serverName` is sent as SNI and Host; `root` is the PEM file of the root that issued the server's
    /// certificate.
    public init(serverName: String, port: Int, root: String, host: String = "127.0.0.1") throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(root)
        context = try NIOSSLContext(configuration: configuration)
        self.host = host
        self.serverName = serverName
        self.port = port
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// The status code of `GET path`, or nil when no answer came within `timeout` (the connection is then closed
    /// and the next request opens a new one) or none could be had. A connection the server closed is reopened
    /// once; a timeout is not retried.
    public func status(_ path: String = "/", timeout: TimeAmount = .seconds(5)) -> Int? {
        for attempt in 0..<2 {
            do {
                let channel = try self.channel ?? connect()
                self.channel = channel
                guard let collector = pending else { return nil }
                let answer = collector.expect(on: channel.eventLoop)
                var headers = HTTPHeaders()
                headers.add(name: "host", value: serverName)
                let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                try channel.writeAndFlush(HTTPClientRequestPart.end(nil)).wait()
                let scheduled = channel.eventLoop.scheduleTask(in: timeout) {
                    answer.fail(NoAnswer())
                }
                defer { scheduled.cancel() }
                return try answer.futureResult.wait()
            } catch {
                channel?.close(promise: nil)
                channel = nil
                if attempt == 1 || error is NoAnswer { return nil }
            }
        }
        return nil
    }

    public func close() {
        try? channel?.close().wait()
        channel = nil
        try? group.syncShutdownGracefully()
    }

    private func connect() throws -> Channel {
        let collector = ResponseCollector()
        let context = self.context
        let serverName = self.serverName
        let channel = try ClientBootstrap(group: group)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let tls = try NIOSSLClientHandler(context: context, serverHostname: serverName)
                    try channel.pipeline.syncOperations.addHandler(tls)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: host, port: port).wait()
        pending = collector
        return channel
    }

    /// No response within the timeout.
    private struct NoAnswer: Error {}

    /// Completes the current request's promise with the response's status at the response's end; fails it when
    /// the connection closes or errors first.
    private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        private var promise: EventLoopPromise<Int>?
        private var status: Int?

        func expect(on loop: EventLoop) -> EventLoopPromise<Int> {
            let promise = loop.makePromise(of: Int.self)
            loop.execute {
                self.status = nil
                self.promise = promise
            }
            return promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): status = Int(head.status.code)
            case .body: break
            case .end:
                if let status { promise?.succeed(status) }
                promise = nil
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise?.fail(ChannelError.ioOnClosedChannel)
            promise = nil
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise?.fail(error)
            promise = nil
            context.close(promise: nil)
        }
    }
}
