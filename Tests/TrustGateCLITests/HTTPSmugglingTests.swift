import Foundation
import Testing
import TrustGateTesting

/// Request smuggling and desync tried as an attacker would: raw bytes to a plain-HTTP listener of `gateway run`,
/// a backend (NIOHTTP1's parser, as real backends use llhttp) that records exactly what it receives. Each hostile
/// message is refused with its status, or reaches the backend as exactly one request in canonical form; no
/// smuggled request ever reaches it.
@Suite("gateway run: no request smuggling, no desync")
struct HTTPSmugglingTests {
    /// A gateway with a plain listener `plain` whose rule sends `/images/*` to `images` and the rest to `app`.
    final class Setup {
        let harness: GatewayHarness
        let app: RecordingBackend
        let images: RecordingBackend
        let port: Int

        init(_ dir: TemporaryDirectory, app: RecordingBackend? = nil, settings: String = "", top: String = "") throws {
            harness = try GatewayHarness(in: dir)
            self.app = try app ?? RecordingBackend()
            images = try RecordingBackend()
            try harness.start("""
                  - {name: plain, address: 127.0.0.1, port: 0, protocol: http}
                \(top)
                pools:
                  - {name: app, members: ["127.0.0.1:\(self.app.port)"]}
                  - {name: images, members: ["127.0.0.1:\(images.port)"]}
                backend-settings:
                  - {name: h, protocol: http, host-name: backend.test\(settings)}
                rules:
                  - {name: p, listener: plain, pool: app, settings: h, paths: [{match: "/images/*", pool: images, settings: h}]}
                  - {name: r, listener: main, pool: app, settings: h}
                """)
            guard let process = harness.process else { throw ProcessRunner.Failure.failed("no gateway") }
            port = Int(try process.waitFor("listening plain on 127\\.0\\.0\\.1:([0-9]+)")) ?? 0
        }

        /// Sends raw bytes; the response and whether the gateway closed the connection.
        func send(_ text: String, timeout: TimeInterval = 3) throws -> (response: String, closed: Bool) {
            try RawClient.exchange(port: port, Array(text.utf8), timeout: timeout)
        }

        func stop() {
            harness.stop()
            app.stop()
            images.stop()
        }
    }

    static let smuggled = "GET /smuggled HTTP/1.1\r\nHost: evil.test\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n"

    @Test("Connection: content-length (any case, with keep-alive) never drops the length: one request, the body intact")
    func connectionContentLength() async throws {
        try await withTemporaryDirectory { dir in
            let setup = try Setup(dir)
            defer { setup.stop() }
            for connection in ["content-length", "Content-Length", "keep-alive, CONTENT-LENGTH", "content-length, host"] {
                let before = setup.app.requests.count
                let body = Self.smuggled
                let (response, _) = try setup.send(
                    "POST /a HTTP/1.1\r\nHost: a.test\r\nConnection: \(connection)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                )
                #expect(response.hasPrefix("HTTP/1.1 200"), "\(connection): \(response)")
                let seen = Array(setup.app.requests.dropFirst(before))
                #expect(seen.count == 1 && seen.first?.complete == true && seen.first?.body == Array(body.utf8),
                        "\(connection): \(seen)")
                #expect(seen.first?.header("content-length") == [String(body.utf8.count)], "\(seen)")
            }
            #expect(!setup.app.requests.contains { $0.uri == "/smuggled" })
        }
    }

    @Test("Obfuscated Transfer-Encoding is refused (501 or 400) and nothing reaches the backend")
    func obfuscatedTransferEncoding() async throws {
        try await withTemporaryDirectory { dir in
            let setup = try Setup(dir)
            defer { setup.stop() }
            let chunkedSmuggle = "0\r\n\r\n" + Self.smuggled
            let cases: [(String, String)] = [
                ("Transfer-Encoding: chun\u{212A}ed\r\n", "501"), ("Transfer-Encoding: identity, chunked\r\n", "501"),
                ("Transfer-Encoding: gzip, chunked\r\n", "501"), ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "400"),
                ("Transfer-Encoding: chunked, \r\n", "400"), ("Transfer-Encoding: ,chunked\r\n", "400"),
                ("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "400"), ("Transfer-Encoding : chunked\r\n", "400"),
                ("Transfer-Encoding:\tchunked\u{0B}\r\n", "400"), ("Transfer-Encoding: xchunked\r\n", "501"),
            ]
            for (fields, status) in cases {
                let (response, closed) = try setup.send("POST /a HTTP/1.1\r\nHost: a.test\r\n\(fields)\r\n\(chunkedSmuggle)")
                #expect(response.hasPrefix("HTTP/1.1 \(status)") && closed, "\(fields.debugDescription): \(response)")
            }
            #expect(setup.app.requests.isEmpty, "\(setup.app.requests)")
        }
    }

    @Test("Lenient chunked framing is refused; what reached the backend is cut off, never a second request")
    func lenientChunked() async throws {
        try await withTemporaryDirectory { dir in
            let setup = try Setup(dir)
            defer { setup.stop() }
            let bodies = [
                "5\nhello\r\n0\r\n\r\n", "5;ext\nhello\r\n0\r\n\r\n", "5\r\nhello\n0\r\n\r\n", "5 x\r\nhello\r\n0\r\n\r\n",
                "5\r\nhello\r\n0\r\nT: a\rb\r\n\r\n", "5\r\nhello\r\n0\r\nT: a\u{00}b\r\n\r\n", "5\r\nhello\r\n0\n\n",
            ]
            for body in bodies {
                let (response, closed) = try setup.send(
                    "POST /a HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n\(body)\(Self.smuggled)"
                )
                #expect(response.hasPrefix("HTTP/1.1 400") && closed, "\(body.debugDescription): \(response)")
            }
            #expect(setup.app.requests.allSatisfy { !$0.complete && $0.uri == "/a" }, "\(setup.app.requests)")
            #expect(!setup.app.requests.contains { $0.uri == "/smuggled" })
            // Well-formed chunked framing with extensions and trailers: re-framed canonically, one request.
            let (response, _) = try setup.send("POST /a HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5;name=\"v\"\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n")
            #expect(response.hasPrefix("HTTP/1.1 200"), "\(response)")
            let last = setup.app.received.map { String(decoding: $0, as: UTF8.self) }.last { $0.contains("X-Sum") } ?? ""
            #expect(last.hasSuffix("\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n"), "\(last.debugDescription)")
            #expect(setup.app.requests.last?.complete == true && setup.app.requests.last?.body == Array("hello".utf8))
        }
    }

    @Test("Lengths, Host and targets: refused, or forwarded as the gateway parsed them")
    func lengthsHostsTargets() async throws {
        try await withTemporaryDirectory { dir in
            let setup = try Setup(dir)
            defer { setup.stop() }
            let refused: [(String, String)] = [
                ("POST /a HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "400"),
                ("POST /a HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3, 4\r\n\r\nabcd", "400"),
                ("GET /a HTTP/1.1\r\n\r\n", "400"), ("GET /a HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n", "400"),
                ("GET /a HTTP/1.1\r\nHost: a.test/x\r\n\r\n", "400"), ("GET /a HTTP/1.1\r\nHost: a.test?x\r\n\r\n", "400"),
                ("GET /a HTTP/1.1\r\nHost: a\tb\r\n\r\n", "400"), ("GET /a HTTP/1.1\r\nHost: \u{E9}.test\r\n\r\n", "400"),
                ("GET /images/%2e%2e/admin HTTP/1.1\r\nHost: a.test\r\n\r\n", "400"),
                ("GET /images%2f..%2fadmin HTTP/1.1\r\nHost: a.test\r\n\r\n", "400"),
                ("GET /../admin HTTP/1.1\r\nHost: a.test\r\n\r\n", "400"),
                ("GET / HTTP/1.1\r\nHost: a.test\nX-Injected: 1\r\n\r\n", "400"),
            ]
            for (request, status) in refused {
                let (response, _) = try setup.send(request)
                #expect(response.hasPrefix("HTTP/1.1 \(status)"), "\(request.debugDescription): \(response)")
            }
            #expect(setup.app.requests.isEmpty && setup.images.requests.isEmpty, "\(setup.app.requests)")

            // Content-Length: 3, 3 is one length of 3: the backend gets exactly that, once.
            let (listed, _) = try setup.send("POST /a HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3, 3\r\n\r\nabc")
            #expect(listed.hasPrefix("HTTP/1.1 200"), "\(listed)")
            #expect(setup.app.requests.last?.header("content-length") == ["3"] && setup.app.requests.last?.body == Array("abc".utf8))
            // Absolute-form: the authority is the host (X-Forwarded-Host), the backend gets origin-form.
            let (absolute, _) = try setup.send("GET http://internal.example/x?y=1 HTTP/1.1\r\nHost: a.test\r\n\r\n")
            #expect(absolute.hasPrefix("HTTP/1.1 200"), "\(absolute)")
            #expect(setup.app.requests.last?.uri == "/x?y=1", "\(setup.app.requests)")
            #expect(setup.app.requests.last?.header("x-forwarded-host") == ["internal.example"])
            // /images/../admin is /admin: routed by that, and forwarded as that.
            let (dotted, _) = try setup.send("GET /images/../admin HTTP/1.1\r\nHost: a.test\r\n\r\n")
            #expect(dotted.hasPrefix("HTTP/1.1 200"), "\(dotted)")
            #expect(setup.app.requests.last?.uri == "/admin" && setup.images.requests.isEmpty, "\(setup.app.requests)")
            let (merged, _) = try setup.send("GET //images//%61.png HTTP/1.1\r\nHost: a.test\r\n\r\n")
            #expect(merged.hasPrefix("HTTP/1.1 200") && setup.images.requests.last?.uri == "/images/a.png",
                    "\(merged) \(setup.images.requests)")
        }
    }

    @Test("Response side: an unframed body reaches an HTTP/1.1 client chunked and the connection goes on")
    func unframedResponse() async throws {
        try await withTemporaryDirectory { dir in
            let backend = try RecordingBackend(response: Array("HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nunframed body".utf8),
                                               closeAfter: true)
            let setup = try Setup(dir, app: backend)
            defer { setup.stop() }
            let socket = try RawClient.connect(port: setup.port)
            defer { close(socket) }
            let request = Array("GET /a HTTP/1.1\r\nHost: a.test\r\n\r\n".utf8)
            for round in 0..<2 {
                _ = request.withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
                var response = ""
                let deadline = Date().addingTimeInterval(5)
                while !response.hasSuffix("0\r\n\r\n"), Date() < deadline {
                    let (more, closed) = RawClient.read(socket, timeout: 0.3)
                    response += more
                    if closed { break }
                }
                #expect(response.hasPrefix("HTTP/1.1 200") && response.contains("Transfer-Encoding: chunked\r\n"),
                        "round \(round): \(response.debugDescription)")
                #expect(response.hasSuffix("\r\n\r\nD\r\nunframed body\r\n0\r\n\r\n"), "round \(round): \(response.debugDescription)")
            }
        }
    }

    @Test("Response side: bare-LF chunked framing and a backend's Connection: content-length", arguments: [
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n", "HTTP/1.1 502"),
        ("HTTP/1.1 200 OK\nContent-Length: 5\n\nhello", "HTTP/1.1 502"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 502"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 502"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "HTTP/1.1 502"),
        ("HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 5\r\n\r\nhello", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"),
    ])
    func responseFraming(response: String, expected: String) async throws {
        try await withTemporaryDirectory { dir in
            let setup = try Setup(dir, app: try RecordingBackend(response: Array(response.utf8), closeAfter: false))
            defer { setup.stop() }
            let (answer, _) = try setup.send("GET /a HTTP/1.1\r\nHost: a.test\r\n\r\n", timeout: 2)
            #expect(answer.hasPrefix(expected), "\(response.debugDescription) → \(answer.debugDescription)")
            if expected.contains("502") { #expect(answer.contains("bad-response"), "\(answer)") }
        }
    }

    @Test("12,000 Connection tokens or 12,000 fields: 400 or 431, and the gateway answers the next request")
    func hugeHeads() async throws {
        try await withTemporaryDirectory { dir in
            let setup = try Setup(dir)
            defer { setup.stop() }
            let tokens = (0..<12_000).map { "t\($0)" }.joined(separator: ",")
            let (manyTokens, _) = try setup.send("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: \(tokens)\r\n\r\n")
            #expect(manyTokens.hasPrefix("HTTP/1.1 400") || manyTokens.hasPrefix("HTTP/1.1 431"), "\(manyTokens.prefix(80))")
            let fields = (0..<12_000).map { "X-\($0): v\r\n" }.joined()
            let (manyFields, _) = try setup.send("GET / HTTP/1.1\r\nHost: a.test\r\n\(fields)\r\n")
            #expect(manyFields.hasPrefix("HTTP/1.1 431") || manyFields.hasPrefix("HTTP/1.1 400"), "\(manyFields.prefix(80))")
            #expect(try setup.send("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n").response.hasPrefix("HTTP/1.1 200"))
            #expect(setup.app.requests.count == 1)
        }
    }

    @Test("The access log quotes what came from the request: no field can be forged")
    func accessLogQuoting() async throws {
        try await withTemporaryDirectory { dir in
            let setup = try Setup(dir, top: "access-log: stdout")
            defer { setup.stop() }
            let (response, _) = try setup.send("GET /a?x=%22 HTTP/1.1\r\nHost: evil.test,status=500\r\nConnection: close\r\n\r\n")
            #expect(response.hasPrefix("HTTP/1.1 200"), "\(response)")
            let line = try setup.harness.process?.waitFor("(time=[^\n]*host=[^\n]*)") ?? ""
            #expect(line.contains(" host=\"evil.test,status=500\" ") && line.contains(" status=200 "), "\(line)")
            #expect(line.components(separatedBy: " status=").count == 2, "\(line)")
        }
    }
}
