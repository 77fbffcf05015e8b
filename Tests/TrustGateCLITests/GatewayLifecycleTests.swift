import Foundation
import Testing
import TrustGateGateway
import TrustGatePKI
import TrustGateTesting

/// An in-process EchoBackend serving `pki/backend-SCENARIO.pem` (leaf + intermediate) and its key.
func echoBackend(_ harness: GatewayHarness, _ scenario: String) async throws -> EchoBackend {
    let chain = try CertificateBundle.decode(Array(try harness.directory.read("pki/backend-\(scenario).pem")))
    let key = try #require(try CertificateBundle.decode(Array(try harness.directory.read("pki/backend-\(scenario).key"))).privateKeys.first)
    return try await EchoBackend.start(certificates: chain.certificates, key: key)
}

@Suite("gateway run: upstream pool, failover, reload, drain")
struct GatewayLifecycleTests {
    @Test("Client connections share pooled upstream connections; SIGHUP applies a new config on an open connection; a bad reload keeps the running one")
    func poolAndReload() async throws {
        try await withGateway { harness, dir in
            let backend = try await echoBackend(harness, "valid")
            let settings = """
                threads: 1
                pools:
                  - {name: app, members: ["127.0.0.1:\(backend.port)"]}
                backend-settings:
                  - {name: e2e, host-name: backend.test, trust: trusted-root}
                  - {name: other, host-name: other.test, trust: trusted-root}
                """
            try harness.start(settings + "\nrules:\n  - {name: r, listener: main, pool: app, settings: e2e}")
            // Five curl runs: five client connections and TLS handshakes at the gateway, one upstream connection
            // (one event loop: the pool is per loop).
            for index in 0..<5 {
                let response = try harness.curl("/n\(index)")
                #expect(response.status == "200", "\(response) \(harness.output)")
            }
            #expect(backend.acceptedConnections == 1, "the backend accepted \(backend.acceptedConnections) connections")

            // One client connection held open across the reload (openssl s_client, keep-alive).
            let client = try BackgroundProcess("openssl", [
                "s_client", "-quiet", "-connect", "127.0.0.1:\(harness.port)", "-servername", "gateway.test",
                "-CAfile", dir.file("pki/root-ca.pem"), "-verify_return_error",
            ], keepStandardInputOpen: true)
            defer { client.stop() }
            client.send("GET /before HTTP/1.1\r\nHost: gateway.test\r\n\r\n")
            _ = try client.waitFor("(GET /before HTTP/1.1)")
            try harness.writeConfiguration(settings + """

                rules:
                  - {name: r, listener: main, pool: app, settings: e2e, paths: [{match: "/other/*", pool: app, settings: other}]}
                """)
            harness.process?.signal(SIGHUP)
            _ = try #require(try harness.process?.waitFor("(reloaded)"))
            client.send("GET /other/x HTTP/1.1\r\nHost: gateway.test\r\n\r\n")
            _ = try client.waitFor("(x-trustgate-reason: hostname-mismatch)")
            client.send("GET /after HTTP/1.1\r\nHost: gateway.test\r\n\r\n")
            _ = try client.waitFor("(GET /after HTTP/1.1)")
            #expect(!client.output.contains("Connection: close") && !client.output.contains("connection: close"))

            // A broken file: reported, and the running configuration goes on serving.
            try dir.write("gateway.yaml", text: "gateway: g\nlisteners: [\n")
            harness.process?.signal(SIGHUP)
            _ = try #require(try harness.process?.waitFor("(reload refused)"))
            #expect(try harness.curl("/still").status == "200")
            #expect(try harness.curl("/other/y").body.contains("hostname-mismatch"))

            // The root leaves the allow-list while an upstream connection idles in the pool: from the moment
            // the gateway has loaded the change, not one more request reuses the connection verified before it.
            try harness.changeAllowList(["remove", "--gateway", "g", "TrustGate Test Root CA"])
            let refused = try harness.curl("/gone")
            #expect(refused.status == "502", "\(refused)")
            #expect(refused.body.contains("not-allowlisted") || refused.body.contains("untrusted-root"), "\(refused)")
            await backend.stop()
        }
    }

    @Test("Upstream TLS sessions are resumed; after an allow-list change the next upstream handshake is a full one, judged again")
    func sessionResumption() async throws {
        try await withGateway { harness, dir in
            // openssl s_server -www answers HTTP/1.0 and closes: every request is a new upstream connection, and
            // its page says whether the TLS session was new or reused.
            let (backend, backendPort) = try harness.opensslBackend("valid")
            defer { backend.stop() }
            try harness.startOnePool(memberPort: backendPort)
            func session() throws -> String {
                let page = try harness.curl("/").body
                return page.contains("Reused, TLS") ? "reused" : page.contains("New, TLS") ? "new" : "?: \(page)"
            }
            #expect(try session() == "new")
            #expect(try session() == "reused")
            #expect(try session() == "reused")

            // An unrelated allow-list change: sessions judged under the old version are not offered any more.
            try harness.changeAllowList(["add", "--gateway", "g", "pki/backend-wrong-host.pem", "--name", "unrelated"])
            #expect(try session() == "new")
            #expect(try session() == "reused")
        }
    }

    @Test("Pipelined requests are answered in order, a slow one first; a request the parser refuses is 400 and closes")
    func pipeliningAndParserErrors() async throws {
        try await withGateway { harness, dir in
            let backend = try await echoBackend(harness, "valid")
            try harness.startOnePool(memberPort: backend.port)
            func client() throws -> BackgroundProcess {
                try BackgroundProcess("openssl", [
                    "s_client", "-quiet", "-connect", "127.0.0.1:\(harness.port)", "-servername", "gateway.test",
                    "-CAfile", dir.file("pki/root-ca.pem"), "-verify_return_error",
                ], keepStandardInputOpen: true)
            }
            // Three requests in one write; the first is answered after 1.5 s, the last carries a body.
            let pipelining = try client()
            defer { pipelining.stop() }
            pipelining.send("GET /slow/1 HTTP/1.1\r\nHost: gateway.test\r\n\r\nGET /p2 HTTP/1.1\r\nHost: gateway.test\r\n\r\n"
                + "POST /p3 HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 5\r\n\r\nhello")
            _ = try pipelining.waitFor("(POST /p3 HTTP/1.1)")
            let output = pipelining.output
            let order = ["GET /slow/1 HTTP/1.1", "GET /p2 HTTP/1.1", "POST /p3 HTTP/1.1"].compactMap {
                output.range(of: $0)?.lowerBound
            }
            #expect(order.count == 3 && order == order.sorted(), "\(output)")
            #expect(output.components(separatedBy: "HTTP/1.1 200 OK").count - 1 == 3, "\(output)")
            #expect(backend.acceptedConnections == 1)

            // Not HTTP: 400, and the gateway closes the connection (s_client exits on its own).
            let garbage = try client()
            defer { garbage.stop() }
            garbage.send("NOT HTTP AT ALL\r\n\r\n")
            #expect(try garbage.waitFor("(HTTP/1.1 400 Bad Request)") == "HTTP/1.1 400 Bad Request")
            #expect(garbage.waitForExit(timeout: 10) != nil, "\(garbage.output)")
            #expect(try harness.curl("/after").status == "200")
            await backend.stop()
        }
    }

    @Test("Framing through the gateway: chunked both ways, de-chunked for HTTP/1.0, HEAD, Expect: 100-continue")
    func framing() async throws {
        try await withGateway { harness, dir in
            let backend = try await echoBackend(harness, "valid")
            try harness.startOnePool(memberPort: backend.port, settings: "threads: 1")
            try dir.write("upload.bin", text: String(repeating: "0123456789abcdef", count: 3200))  // 51,200 bytes
            // A chunked response relayed as it came, to an HTTP/1.1 client.
            let chunked = try harness.curl("/chunked/a", ["-i"])
            #expect(chunked.status == "200" && chunked.body.lowercased().contains("transfer-encoding: chunked"), "\(chunked)")
            #expect(chunked.body.contains("GET /chunked/a HTTP/1.1") && chunked.body.hasSuffix("body-bytes: 0\nserved-by: \(backend.port)\n"), "\(chunked)")
            // The same to an HTTP/1.0 client: the data without the chunk framing, then the connection closes.
            let old = try harness.curl("/chunked/b", ["-i", "--http1.0"])
            #expect(old.status == "200" && !old.body.lowercased().contains("transfer-encoding"), "\(old)")
            #expect(old.body.lowercased().contains("connection: close") && old.body.hasSuffix("body-bytes: 0\nserved-by: \(backend.port)\n"), "\(old)")
            // A chunked upload, and one announced with Expect: 100-continue (answered by the gateway, not forwarded).
            let up = try harness.curl("/up", ["-H", "Transfer-Encoding: chunked", "--data-binary", "@" + dir.file("upload.bin")])
            #expect(up.status == "200" && up.body.contains("transfer-encoding: chunked") && up.body.contains("body-bytes: 51200"), "\(up)")
            let expect = try harness.curl("/expect", ["-H", "Expect: 100-continue", "--data-binary", "@" + dir.file("upload.bin")])
            #expect(expect.status == "200" && expect.body.contains("body-bytes: 51200") && !expect.body.contains("expect:"), "\(expect)")
            // HEAD: the length of the body that a GET would get, and no body.
            let head = try harness.curl("/h", ["-I"])
            #expect(head.status == "200" && head.body.lowercased().contains("content-length:"), "\(head)")
            #expect(backend.acceptedConnections == 1, "every exchange reused the one upstream connection")
            await backend.stop()
        }
    }

    @Test("A member that answers TLS with plain HTTP is 502 handshake-failed, and the gateway goes on serving")
    func plainHTTPMember() async throws {
        try await withGateway { harness, dir in
            let backend = try await echoBackend(harness, "valid")
            // The gateway's own plain-HTTP listener is the member that does not speak TLS.
            let plainPort = try freePort()
            try harness.start("""
                  - {name: plain, address: 127.0.0.1, port: \(plainPort), protocol: http}
                pools:
                  - {name: app, members: ["127.0.0.1:\(backend.port)"]}
                  - {name: plaintext, members: ["127.0.0.1:\(plainPort)"]}
                backend-settings:
                  - {name: e2e, host-name: backend.test}
                rules:
                  - {name: r, listener: main, pool: app, settings: e2e, paths: [{match: "/plain/*", pool: plaintext, settings: e2e}]}
                  - {name: p, listener: plain, pool: app, settings: e2e}
                """)
            for _ in 0..<3 {
                let response = try harness.curl("/plain/x")
                #expect(response.status == "502" && response.body.contains("handshake-failed"), "\(response)")
                #expect(try harness.curl("/ok").status == "200")
            }
            await backend.stop()
        }
    }

    @Test("A member the allow-list rejects is failed over to an allowed one; a pool with none allowed answers 503 naming the category")
    func failoverAnd503() async throws {
        try await withGateway { harness, dir in
            let good = try await echoBackend(harness, "valid")
            let (untrusted, untrustedPort) = try harness.opensslBackend("untrusted")
            defer { untrusted.stop() }
            let (expired, expiredPort) = try harness.opensslBackend("expired")
            defer { expired.stop() }
            try harness.start("""
                pools:
                  - {name: mixed, members: ["127.0.0.1:\(untrustedPort)", "127.0.0.1:\(good.port)"]}
                  - {name: none, members: ["127.0.0.1:\(untrustedPort)", "127.0.0.1:\(expiredPort)"]}
                backend-settings:
                  - {name: e2e, host-name: backend.test}
                rules:
                  - {name: r, listener: main, pool: mixed, settings: e2e, paths: [{match: "/none/*", pool: none, settings: e2e}]}
                """)
            for index in 0..<4 {
                let response = try harness.curl("/m\(index)")
                #expect(response.status == "200", "\(index): \(response) \(harness.output)")
            }
            #expect(harness.output.contains("failing over"), "\(harness.output)")
            #expect(harness.output.contains("backend rejected"))

            let first = try harness.curl("/none/a")
            #expect(first.status == "503", "\(first)")
            #expect(first.body.contains("untrusted-root") || first.body.contains("expired"), "\(first)")
            // Both members are now marked down: the next request is answered at once, with the latest category.
            let second = try harness.curl("/none/b")
            #expect(second.status == "503", "\(second)")
            await good.stop()
        }
    }

    @Test("SIGTERM drains: the request in flight completes, new connections are refused, the gateway exits 0")
    func drain() async throws {
        try await withGateway { harness, dir in
            let backend = try await echoBackend(harness, "valid")
            try harness.startOnePool(memberPort: backend.port, settings: "drain-timeout: 10s")
            #expect(try harness.curl("/warm").status == "200")
            // The backend answers /slow/ after 1.5 s.
            let slow = try BackgroundProcess("curl", [
                "-s", "--max-time", "20", "--cacert", dir.file("pki/root-ca.pem"), "--resolve",
                "gateway.test:\(harness.port):127.0.0.1", "-w", "\nstatus=%{http_code}\n",
                "https://gateway.test:\(harness.port)/slow/x",
            ])
            defer { slow.stop() }
            usleep(500_000)
            harness.process?.signal(SIGTERM)
            _ = try #require(try harness.process?.waitFor("(stopping)"))
            let refused = try ProcessRunner.run("curl", [
                "-s", "--max-time", "5", "--cacert", dir.file("pki/root-ca.pem"), "--resolve",
                "gateway.test:\(harness.port):127.0.0.1", "https://gateway.test:\(harness.port)/late",
            ])
            #expect(refused.status == 7, "a new connection after SIGTERM: curl exit \(refused.status)")
            _ = try slow.waitFor("(status=200)")
            #expect(slow.output.contains("GET /slow/x HTTP/1.1"))
            #expect(harness.process?.waitForExit(timeout: 10) == 0, "\(harness.output)")
            #expect(harness.output.contains("stopped"))
            await backend.stop()
        }
    }
}
