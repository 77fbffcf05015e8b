import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A plain-HTTP backend for request-smuggling tests, on 127.0.0.1 (a kernel-chosen port): it records the exact
/// bytes each connection receives and, as a real backend would, the requests NIOHTTP1's parser (llhttp) reads from
/// them, answering each with `200 ok`. With `response`, it answers every request head it sees with those bytes
/// instead (a hostile or broken backend), closing the connection afterwards when `closeAfter`. Stopped by
/// ``stop()``.
public final class RecordingBackend: @unchecked Sendable {
    /// One request as the backend's parser read it.
    public struct Request: Sendable, CustomStringConvertible {
        public var method: String
        public var uri: String
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// The body's end was seen (the request is complete).
        public var complete: Bool

        public func header(_ name: String) -> [String] {
            headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
        }

        public var description: String {
            "\(method) \(uri) \(headers.map { "\($0.0): \($0.1)" }) body=\(String(decoding: body, as: UTF8.self).debugDescription)"
                + (complete ? "" : " (incomplete)")
        }
    }

    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let state = NIOLockedValueBox<(bytes: [[UInt8]], requests: [Request])>(([], []))

    public init(response: [UInt8]? = nil, closeAfter: Bool = false) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = self.state
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let connection = state.withLockedValue { state -> Int in
                            state.bytes.append([])
                            return state.bytes.count - 1
                        }
                        try channel.pipeline.syncOperations.addHandler(ByteRecorder(state: state, connection: connection))
                        if let response {
                            try channel.pipeline.syncOperations.addHandler(CannedResponder(response: response, closeAfter: closeAfter))
                        } else {
                            try channel.pipeline.syncOperations.addHandler(
                                ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes))
                            )
                            try channel.pipeline.syncOperations.addHandler(HTTPResponseEncoder())
                            try channel.pipeline.syncOperations.addHandler(RequestRecorder(state: state))
                        }
                    }
                }
                .bind(host: "127.0.0.1", port: 0).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        self.group = group
        port = channel.localAddress?.port ?? 0
    }

    /// What each connection received, in order of accept.
    public var received: [[UInt8]] { state.withLockedValue { $0.bytes } }
    /// Every request the backend's parser read, in order.
    public var requests: [Request] { state.withLockedValue { $0.requests } }

    public func stop() {
        channel.close(promise: nil)
        try? group.syncShutdownGracefully()
    }

    typealias State = NIOLockedValueBox<(bytes: [[UInt8]], requests: [Request])>

    private final class ByteRecorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        let state: State
        let connection: Int

        init(state: State, connection: Int) {
            self.state = state
            self.connection = connection
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            state.withLockedValue { $0.bytes[connection] += Array(buffer.readableBytesView) }
            context.fireChannelRead(data)
        }
    }

    private final class RequestRecorder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let state: State
        private var index: Int?

        init(state: State) {
            self.state = state
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                index = state.withLockedValue { state -> Int in
                    state.requests.append(Request(method: head.method.rawValue, uri: head.uri,
                                                  headers: head.headers.map { ($0.name, $0.value) }, body: [], complete: false))
                    return state.requests.count - 1
                }
            case .body(let buffer):
                if let index { state.withLockedValue { $0.requests[index].body += Array(buffer.readableBytesView) } }
            case .end:
                guard let index else { return }
                state.withLockedValue { $0.requests[index].complete = true }
                self.index = nil
                let body = context.channel.allocator.buffer(string: "ok \(index)")
                let headers = HTTPHeaders([("content-length", String(body.readableBytes))])
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            context.close(promise: nil)  // what llhttp cannot parse ends the connection, as a backend's would
        }
    }

    /// Answers each request head (up to its empty line) with fixed bytes.
    private final class CannedResponder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let response: [UInt8]
        let closeAfter: Bool
        private var seen: [UInt8] = []

        init(response: [UInt8], closeAfter: Bool) {
            self.response = response
            self.closeAfter = closeAfter
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            seen += Array(unwrapInboundIn(data).readableBytesView)
            let terminator: [UInt8] = Array("\r\n\r\n".utf8)
            while let end = seen.indices.first(where: { seen[$0...].starts(with: terminator) }) {
                seen.removeFirst(end + 4)
                let written = context.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: response)))
                if closeAfter { written.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
            }
        }
    }
}

/// A client that sends exact bytes to 127.0.0.1:`port` over plain TCP and reads what comes back, until the
/// server closes or `timeout` passes. For tests of what a gateway does with bytes no real client sends.
public enum RawClient {
    /// Sends `bytes`, then reads until the connection closes or `timeout`; what was read, and whether it closed.
    public static func exchange(port: Int, _ bytes: [UInt8], timeout: TimeInterval = 5)
        throws -> (response: String, closed: Bool)
    {
        let socket = try connect(port: port)
        defer { close(socket) }
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            sent += count
        }
        return read(socket, timeout: timeout)
    }

    /// A connected socket to 127.0.0.1:`port`.
    public static func connect(port: Int) throws -> Int32 {
        let descriptor = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ProcessRunner.Failure.failed("socket(): errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            close(descriptor)
            throw ProcessRunner.Failure.failed("cannot connect to 127.0.0.1:\(port): errno \(errno)")
        }
        return descriptor
    }

    /// Reads until the peer closes or `timeout` passes.
    public static func read(_ socket: Int32, timeout: TimeInterval) -> (response: String, closed: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let left = max(1, Int32(deadline.timeIntervalSinceNow * 1000))
            guard poll(&poller, 1, left) > 0 else { continue }
            let count = Foundation.read(socket, &buffer, buffer.count)
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer.prefix(count)
        }
        return (String(decoding: received, as: UTF8.self), false)
    }
}
