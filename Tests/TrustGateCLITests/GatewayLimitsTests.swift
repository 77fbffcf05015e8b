import Foundation
import Testing
import TrustGateTesting

#if canImport(Glibc)
import Glibc
#endif

/// Bounded work against idle, slow and silent peers: max-connections, the header timeout from accept, the read
/// timeout once a response began, the send timeout toward a client that stops reading.
@Suite("gateway run: connection limits and timeouts")
struct GatewayLimitsTests {
    /// Starts a gateway with a plain listener `plain` (its own keys in `listenerKeys`) to `backend`; `top` goes
    /// before the pools (top-level keys). Returns the harness and the plain listener's port.
    static func start(_ dir: TemporaryDirectory, backend: Int, listenerKeys: String = "", settings: String = "",
                      top: String = "") throws -> (GatewayHarness, Int) {
        let harness = try GatewayHarness(in: dir)
        try harness.start("""
              - {name: plain, address: 127.0.0.1, port: 0, protocol: http\(listenerKeys)}
            \(top)
            pools:
              - {name: app, members: ["127.0.0.1:\(backend)"]}
            backend-settings:
              - {name: h, protocol: http, host-name: backend.test\(settings)}
            rules:
              - {name: p, listener: plain, pool: app, settings: h}
              - {name: r, listener: main, pool: app, settings: h}
            """)
        let port = Int(try harness.process?.waitFor("listening plain on 127\\.0\\.0\\.1:([0-9]+)") ?? "") ?? 0
        return (harness, port)
    }

    /// Whether the peer has closed `socket` (a read returns end of file) within `timeout`.
    static func closedByPeer(_ socket: Int32, within timeout: TimeInterval) -> Bool {
        RawClient.read(socket, timeout: timeout).closed
    }

    @Test("max-connections: at most that many open at once, established clients still answered, the rest served later")
    func maxConnections() async throws {
        try await withTemporaryDirectory { dir in
            let backend = try RecordingBackend()
            defer { backend.stop() }
            let (harness, port) = try Self.start(dir, backend: backend.port, listenerKeys: ", max-connections: 50",
                                                 top: "admin: {port: 0}\nclient-timeouts: {header: 2s}")
            defer { harness.stop() }
            let admin = Int(try harness.process?.waitFor("admin listening on 127\\.0\\.0\\.1:([0-9]+)") ?? "") ?? 0
            func openConnections() throws -> Int {
                let metrics = try ProcessRunner.run("curl", ["-s", "--max-time", "5", "http://127.0.0.1:\(admin)/metrics"]).stdout
                let line = metrics.split(separator: "\n").first { $0.hasPrefix("trustgate_open_connections ") }
                return line.flatMap { Double($0.split(separator: " ").last ?? "") }.map(Int.init) ?? -1
            }
            // A keep-alive client, connected before the flood.
            let keptAlive = try RawClient.connect(port: port)
            defer { close(keptAlive) }
            let request = Array("GET /k HTTP/1.1\r\nHost: a.test\r\n\r\n".utf8)
            func ask(_ socket: Int32) -> String {
                _ = request.withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
                var answer = ""
                let deadline = Date().addingTimeInterval(5)
                while !answer.contains("\r\n\r\nok"), Date() < deadline { answer += RawClient.read(socket, timeout: 0.2).response }
                return answer
            }
            #expect(ask(keptAlive).hasPrefix("HTTP/1.1 200"))
            var idle: [Int32] = []
            defer { for socket in idle { close(socket) } }
            for _ in 0..<150 { idle.append(try RawClient.connect(port: port)) }
            var most = 0
            for _ in 0..<10 {
                most = max(most, try openConnections())
                usleep(100_000)
            }
            #expect(most > 0 && most <= 50, "open connections peaked at \(most)")
            #expect(ask(keptAlive).hasPrefix("HTTP/1.1 200"), "an established client is still answered")
            // Idle connections are closed at the header timeout, which lets the waiting ones in: a new client gets
            // its answer once its turn comes.
            let late = try RawClient.connect(port: port)
            defer { close(late) }
            _ = request.withUnsafeBytes { write(late, $0.baseAddress, $0.count) }
            var answer = ""
            let deadline = Date().addingTimeInterval(20)
            while !answer.contains("\r\n\r\nok"), Date() < deadline { answer += RawClient.read(late, timeout: 0.5).response }
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(60))")
            // Nothing was closed unserved: connections accepted past the limit in one batch wait for a slot.
            let metrics = try ProcessRunner.run("curl", ["-s", "--max-time", "5", "http://127.0.0.1:\(admin)/metrics"]).stdout
            #expect(!metrics.split(separator: "\n").contains { $0.hasPrefix("trustgate_listener_connections_refused_total") && !$0.hasSuffix(" 0") },
                    "\(metrics.split(separator: "\n").filter { $0.contains("refused") })")
        }
    }

    @Test("Connections that send nothing are closed within the header timeout, from accept, on plain and TLS listeners")
    func silentClients() async throws {
        try await withTemporaryDirectory { dir in
            let backend = try RecordingBackend()
            defer { backend.stop() }
            let (harness, port) = try Self.start(dir, backend: backend.port, top: "client-timeouts: {header: 2s}")
            defer { harness.stop() }
            var sockets: [Int32] = []
            defer { for socket in sockets { close(socket) } }
            let started = Date()
            for index in 0..<300 { sockets.append(try RawClient.connect(port: index % 2 == 0 ? port : harness.port)) }
            var open = sockets
            while !open.isEmpty, Date().timeIntervalSince(started) < 2 + 1.5 {
                open = open.filter { !Self.closedByPeer($0, within: 0.01) }
            }
            #expect(open.isEmpty, "\(open.count) of 300 silent connections still open after \(Date().timeIntervalSince(started)) s")
            #expect(Date().timeIntervalSince(started) >= 1.5, "closed at the header timeout, not before")
        }
    }

    @Test("A backend stalling in the middle of its body: the client connection closes within read-timeout + 1 s")
    func readTimeout() async throws {
        try await withTemporaryDirectory { dir in
            let backend = try RecordingBackend(response: Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial".utf8))
            defer { backend.stop() }
            let (harness, port) = try Self.start(dir, backend: backend.port, settings: ", read-timeout: 1s, request-timeout: 30s")
            defer { harness.stop() }
            let socket = try RawClient.connect(port: port)
            defer { close(socket) }
            let request = Array("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n".utf8)
            _ = request.withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
            var received = ""
            while !received.contains("partial") { received += RawClient.read(socket, timeout: 0.2).response }
            let began = Date()
            let (rest, closed) = RawClient.read(socket, timeout: 5)
            let elapsed = Date().timeIntervalSince(began)
            #expect(closed && rest.isEmpty, "\(rest)")
            #expect(elapsed < 1 + 1, "closed \(elapsed) s after the backend stalled")
            #expect(harness.output.contains("within the read timeout"), "\(harness.output)")
        }
    }

    @Test("A client that stops reading is closed after the send timeout")
    func sendTimeout() async throws {
        try await withTemporaryDirectory { dir in
            let size = 64 << 20
            let backend = try RecordingBackend(
                response: Array("HTTP/1.1 200 OK\r\nContent-Length: \(size)\r\n\r\n".utf8) + [UInt8](repeating: 0x61, count: size)
            )
            defer { backend.stop() }
            let (harness, port) = try Self.start(dir, backend: backend.port, top: "send-timeout: 1s")
            defer { harness.stop() }
            let socket = try RawClient.connect(port: port)
            defer { close(socket) }
            var small: Int32 = 4096
            setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            let request = Array("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n".utf8)
            _ = request.withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
            // Never read: the gateway's buffers fill, it stops reading the backend, then gives up on the client.
            _ = try harness.process?.waitFor("(closing a client connection: it stopped reading)", timeout: 10)
        }
    }
}
