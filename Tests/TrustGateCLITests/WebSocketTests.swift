import Foundation
import Testing
import TrustGateTesting

/// WebSocket through `gateway run`: real peers (the `websockets` package from PyPI, client and server) over TLS
/// both sides with the allow-list enforced; raw sockets for what no real peer sends — handshakes that must be
/// refused, backends that answer an upgrade with something else, bytes smuggled behind a refused upgrade.
@Suite("gateway run: WebSocket")
struct WebSocketTests {
    /// `Tests/Peers/websocket_peer.py`.
    static let peer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Peers/websocket_peer.py").path

    /// RFC 6455 §1.3's example key and the accept it gives.
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    static let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    static func handshake(path: String = "/ws", fields: String = "") -> String {
        "GET \(path) HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: \(key)\r\n\(fields)\r\n"
    }

    /// A WebSocket echo backend (TLS, `pki/backend-SCENARIO.pem`) and a gateway whose pool `ws` is that backend
    /// and pool `bad` an echo backend presenting the untrusted chain; `settings` adds to the backend settings.
    static func start(_ harness: GatewayHarness, settings: String = "") throws -> [BackgroundProcess] {
        var servers: [BackgroundProcess] = []
        var ports: [Int] = []
        for scenario in ["valid", "untrusted"] {
            let server = try BackgroundProcess("python3", [
                peer, "server", "--cert", harness.directory.file("pki/backend-\(scenario).pem"),
                "--key", harness.directory.file("pki/backend-\(scenario).key"),
            ])
            servers.append(server)
            ports.append(Int(try server.waitFor("listening ([0-9]+)")) ?? 0)
        }
        try harness.start("""
            pools:
              - {name: ws, members: ["127.0.0.1:\(ports[0])"]}
              - {name: bad, members: ["127.0.0.1:\(ports[1])"]}
            backend-settings:
              - {name: e2e, host-name: backend.test\(settings)}
            rules:
              - {name: r, listener: main, pool: ws, settings: e2e, paths: [{match: "/bad/*", pool: bad, settings: e2e}]}
            """)
        return servers
    }

    /// What the Python client printed (its last line, JSON).
    struct Report: Decodable, Sendable, CustomStringConvertible {
        var status: Int?
        var messages: Int?
        var intact: Bool?
        var code: Int?
        var after: Double?
        var error: String?
        var exit: Int32 = -1
        var output = ""
        var description: String { output }

        enum CodingKeys: String, CodingKey { case status, messages, intact, code, after, error }
    }

    /// Runs the Python client against the harness's gateway.
    static func client(_ harness: GatewayHarness, _ arguments: [String]) throws -> Report {
        let result = try ProcessRunner.run("python3", [
            peer, "client", "--port", String(harness.port), "--ca", harness.directory.file("pki/root-ca.pem"),
        ] + arguments, timeout: 120)
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        var report = (try? JSONDecoder().decode(Report.self, from: Data(line.utf8))) ?? Report()
        report.exit = result.status
        report.output = result.stdout + result.stderr
        return report
    }

    @Test("1,000 messages, text and binary, 16 MiB, echoed through the gateway intact; a disallowed backend is 502 before any upgrade")
    func echo() async throws {
        try await withGateway { harness, _ in
            let servers = try Self.start(harness)
            defer { for server in servers { server.stop() } }
            let report = try await blocking { try Self.client(harness, ["--messages", "1000", "--bytes", String(16 << 20)]) }
            #expect(report.exit == 0 && report.intact == true && report.messages == 1000, "\(report) \(harness.output.suffix(2000))")
            let refused = try await blocking { try Self.client(harness, ["--path", "/bad/echo", "--messages", "1"]) }
            #expect(refused.exit == 3 && refused.status == 502, "\(refused)")
            #expect(harness.output.contains("category=untrusted-root"), "\(harness.output.suffix(2000))")
        }
    }

    @Test("The backend going away ends the client's connection; so does the idle timeout, and not before")
    func tunnelEnds() async throws {
        try await withGateway { harness, _ in
            let servers = try Self.start(harness, settings: ", websocket-idle-timeout: 3s")
            defer { for server in servers { server.stop() } }
            // The backend aborts its TCP connection: the client sees its own connection end (no closing handshake).
            let dropped = try await blocking { try Self.client(harness, ["--path", "/drop", "--hold"]) }
            #expect(dropped.exit == 0 && dropped.code == 1006 && (dropped.after ?? 99) < 2, "\(dropped)")

            // Idle for the timeout: closed by the gateway, not before.
            let idle = try await blocking { try Self.client(harness, ["--hold"]) }
            let after = idle.after ?? 0
            #expect(idle.exit == 0 && after >= 2.5 && after < 5, "\(idle)")
            #expect(harness.output.contains("idle for its timeout"), "\(harness.output.suffix(2000))")
        }
    }

    @Test("Removing the backend's root from the allow-list closes an open tunnel")
    func allowListRemoval() async throws {
        try await withGateway { harness, _ in
            let servers = try Self.start(harness)
            defer { for server in servers { server.stop() } }
            let holder = try BackgroundProcess("python3", [
                Self.peer, "client", "--port", String(harness.port), "--ca", harness.directory.file("pki/root-ca.pem"), "--hold",
            ])
            defer { holder.stop() }
            _ = try holder.waitFor("(\"open\": true)")
            try harness.changeAllowList(["remove", "--gateway", "g", "TrustGate Test Root CA"])
            let reloaded = Date()
            _ = try holder.waitFor("\"after\": ([0-9.e-]+)", timeout: 5)
            let elapsed = Date().timeIntervalSince(reloaded)
            #expect(elapsed < 1, "closed \(elapsed) s after the gateway reloaded its allow-list")
            #expect(holder.output.contains("\"code\": 1006"), "\(holder.output)")
        }
    }

    @Test("Through a plain listener: the 101 and the bytes after it go both ways, the handshake forwarded as parsed")
    func rawTunnel() async throws {
        try await withTemporaryDirectory { dir in
            let app = try RecordingBackend(response: Array(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(Self.accept)\r\nX-Sub: 1\r\n\r\nfrom-backend".utf8
            ))
            let setup = try HTTPSmugglingTests.Setup(dir, app: app)
            defer { setup.stop() }
            let socket = try RawClient.connect(port: setup.port)
            defer { close(socket) }
            let bytes = Array((Self.handshake(fields: "Upgrade: h2c\r\n") + "from-client").utf8)
            _ = bytes.withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
            var received = ""
            let deadline = Date().addingTimeInterval(5)
            while !received.contains("from-backend"), Date() < deadline { received += RawClient.read(socket, timeout: 0.2).response }
            #expect(received.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), "\(received)")
            #expect(received.contains("Sec-WebSocket-Accept: \(Self.accept)\r\n") && received.contains("X-Sub: 1\r\n"), "\(received)")
            #expect(received.contains("Connection: upgrade\r\nUpgrade: websocket\r\n\r\nfrom-backend"), "\(received)")
            // The backend got the handshake rewritten (one Upgrade, websocket) and then the client's raw bytes.
            var seen = ""
            while !seen.contains("from-client"), Date() < deadline {
                seen = setup.app.received.map { String(decoding: $0, as: UTF8.self) }.joined()
                usleep(20_000)
            }
            #expect(seen.contains("\r\nConnection: upgrade\r\nUpgrade: websocket\r\n"), "\(seen)")
            #expect(!seen.contains("h2c") && !seen.contains("keep-alive"), "\(seen)")
            #expect(seen.hasSuffix("\r\n\r\nfrom-client"), "\(seen)")
            // More bytes either way go on as they are.
            let more = Array("GET /not-http HTTP/1.1\r\n".utf8)
            _ = more.withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
            while !seen.contains("/not-http"), Date() < deadline {
                seen = setup.app.received.map { String(decoding: $0, as: UTF8.self) }.joined()
                usleep(20_000)
            }
            #expect(seen.hasSuffix("from-clientGET /not-http HTTP/1.1\r\n"), "\(seen)")
        }
    }

    @Test("A backend that does not accept the upgrade: its answer, then the close; bytes behind the handshake never reach it")
    func refusedUpgrade() async throws {
        do {
            let answers = [
                ("HTTP/1.1 426 Upgrade Required\r\nContent-Length: 2\r\n\r\nno", "HTTP/1.1 426"),
                ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno", "HTTP/1.1 200"),
                ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n", "HTTP/1.1 502"),
                ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: \(Self.accept)\r\n\r\n", "HTTP/1.1 502"),
                ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\nSec-WebSocket-Accept: \(Self.accept)\r\n\r\n", "HTTP/1.1 502"),
                ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nContent-Length: 0\r\nSec-WebSocket-Accept: \(Self.accept)\r\n\r\n", "HTTP/1.1 502"),
                ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: \(Self.accept)\r\nSec-WebSocket-Accept: \(Self.accept)\r\n\r\n", "HTTP/1.1 502"),
            ]
            for (answer, expected) in answers {
                let app = try RecordingBackend(response: Array(answer.utf8))
                let caseDir = try TemporaryDirectory()
                defer { caseDir.remove() }
                let setup = try HTTPSmugglingTests.Setup(caseDir, app: app)
                defer { setup.stop() }
                let (response, closed) = try setup.send(Self.handshake() + HTTPSmugglingTests.smuggled + HTTPSmugglingTests.smuggled)
                #expect(response.hasPrefix(expected) && closed, "\(answer.debugDescription): \(response)")
                #expect(!response.contains("Switching") && response.components(separatedBy: "HTTP/1.1").count == 2, "\(response)")
                usleep(100_000)
                let seen = setup.app.received.map { String(decoding: $0, as: UTF8.self) }.joined()
                #expect(seen.contains("GET /ws ") && !seen.contains("/smuggled"), "\(answer.debugDescription): \(seen)")
            }
        }
    }

    @Test("A 101 to a request that asked for no WebSocket is a bad response (502), never a tunnel")
    func unaskedSwitch() async throws {
        try await withTemporaryDirectory { dir in
            let app = try RecordingBackend(response: Array(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: \(Self.accept)\r\n\r\n".utf8
            ))
            let setup = try HTTPSmugglingTests.Setup(dir, app: app)
            defer { setup.stop() }
            for fields in ["Upgrade: websocket\r\nSec-WebSocket-Key: \(Self.key)\r\n", "Connection: upgrade\r\nUpgrade: h2c\r\n", ""] {
                let (response, _) = try setup.send("GET /a HTTP/1.1\r\nHost: a.test\r\n\(fields)Connection: close\r\n\r\n")
                #expect(response.hasPrefix("HTTP/1.1 502") && response.contains("bad-response"), "\(fields): \(response)")
                #expect(!response.contains("101"), "\(response)")
            }
            let seen = setup.app.received.map { String(decoding: $0, as: UTF8.self) }.joined()
            #expect(!seen.lowercased().contains("upgrade"), "the backend never saw an upgrade: \(seen)")
        }
    }

    @Test("Handshakes RFC 6455 does not allow are 400 and reach no backend; Upgrade without the connection option is plain HTTP")
    func badHandshakes() async throws {
        try await withTemporaryDirectory { dir in
            let setup = try HTTPSmugglingTests.Setup(dir)
            defer { setup.stop() }
            let upgrade = "Connection: Upgrade\r\nUpgrade: websocket\r\n"
            let cases = [
                "POST /ws HTTP/1.1\r\nHost: a.test\r\n\(upgrade)Sec-WebSocket-Key: \(Self.key)\r\n\r\n",
                "GET /ws HTTP/1.0\r\nHost: a.test\r\n\(upgrade)Sec-WebSocket-Key: \(Self.key)\r\n\r\n",
                "GET /ws HTTP/1.1\r\nHost: a.test\r\n\(upgrade)Sec-WebSocket-Key: \(Self.key)\r\nContent-Length: 5\r\n\r\nhello",
                "GET /ws HTTP/1.1\r\nHost: a.test\r\n\(upgrade)Sec-WebSocket-Key: \(Self.key)\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "GET /ws HTTP/1.1\r\nHost: a.test\r\n\(upgrade)\r\n",
                "GET /ws HTTP/1.1\r\nHost: a.test\r\n\(upgrade)Sec-WebSocket-Key: \(Self.key)\r\nSec-WebSocket-Key: \(Self.key)\r\n\r\n",
                "GET /ws HTTP/1.1\r\nHost: a.test\r\n\(upgrade)Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n\r\n",
                "GET /ws HTTP/1.1\r\nHost: a.test\r\n\(upgrade)Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j\r\n\r\n",
                "GET /ws HTTP/1.1\r\nHost: a.test\r\n\(upgrade)Sec-WebSocket-Key: ****************====\r\n\r\n",
                "GET /ws HTTP/1.1\r\nHost: a.test\r\n\(upgrade)Sec-WebSocket-Key: ************************\r\n\r\n",
                "GET /ws HTTP/1.1\r\nHost: a.test\r\n\(upgrade)Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==AAAA\r\n\r\n",
                "GET /ws HTTP/1.1\r\nHost: a.test\r\nConnection: upgrade\r\nUpgrade: websocket/\u{7F}\r\nSec-WebSocket-Key: \(Self.key)\r\n\r\n",
            ]
            for request in cases {
                let (response, closed) = try setup.send(request + HTTPSmugglingTests.smuggled)
                #expect(response.hasPrefix("HTTP/1.1 400") && closed, "\(request.debugDescription): \(response)")
            }
            #expect(setup.app.requests.isEmpty, "\(setup.app.requests)")
            // Upgrade without the `upgrade` connection option is not meant for this hop (RFC 9110 §7.8): plain
            // HTTP, its Upgrade dropped, the connection kept for the next request.
            let (response, _) = try setup.send(
                "GET /plain HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nSec-WebSocket-Key: \(Self.key)\r\n\r\n"
                    + "GET /next HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
            )
            #expect(response.hasPrefix("HTTP/1.1 200") && response.components(separatedBy: "HTTP/1.1 200").count == 3, "\(response)")
            #expect(setup.app.requests.map(\.uri) == ["/plain", "/next"], "\(setup.app.requests)")
            #expect(setup.app.requests.first?.header("upgrade").isEmpty == true, "\(setup.app.requests)")
        }
    }
}
