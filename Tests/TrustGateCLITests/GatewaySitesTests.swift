import Foundation
import Testing
import TrustGateGateway
import TrustGatePKI
import TrustGateTesting

@Suite("gateway run: multi-site listeners, SNI certificates, path maps, redirects")
struct GatewaySitesTests {
    /// The CN of the certificate `openssl s_client` printed (`subject=CN = NAME`, or `subject=CN=NAME`).
    static func subject(_ output: String) -> String? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("subject=") }) else { return nil }
        return line.dropFirst("subject=".count).replacingOccurrences(of: " ", with: "")
            .replacingOccurrences(of: "/", with: "").replacingOccurrences(of: "CN=", with: "")
    }

    @Test("Two sites on one port: SNI picks each certificate, Host each pool; path maps; HTTP to HTTPS is 301 with path and query")
    func sites() async throws {
        try await withGateway { harness, dir in
            for name in ["www.contoso.test", "api.contoso.test"] { try harness.issueLeaf(name, prefix: "site-\(name)") }
            var backends: [String: EchoBackend] = [:]
            for pool in ["www", "images", "video", "api"] { backends[pool] = try await echoBackend(harness, "valid") }
            let shared = try freePort()
            let plain = try freePort()
            func port(_ pool: String) -> Int { backends[pool]?.port ?? 0 }
            try harness.start("""
                  - {name: www, address: 127.0.0.1, port: \(shared), host-names: [www.contoso.test], certificate: {pem: pki/site-www.contoso.test.pem, key: pki/site-www.contoso.test.key}}
                  - {name: api, address: 127.0.0.1, port: \(shared), host-names: ["*.api.contoso.test", api.contoso.test], certificate: {pem: pki/site-api.contoso.test.pem, key: pki/site-api.contoso.test.key}}
                  - {name: plain, address: 127.0.0.1, port: \(plain), protocol: http}
                pools:
                  - {name: www, members: ["127.0.0.1:\(port("www"))"]}
                  - {name: images, members: ["127.0.0.1:\(port("images"))"]}
                  - {name: video, members: ["127.0.0.1:\(port("video"))"]}
                  - {name: api, members: ["127.0.0.1:\(port("api"))"]}
                backend-settings:
                  - {name: e2e, host-name: backend.test}
                rules:
                  - {name: main, listener: main, pool: www, settings: e2e}
                  - {name: www, listener: www, pool: www, settings: e2e, paths: [{match: "/images/*", pool: images, settings: e2e}, {match: "/video/*", pool: video, settings: e2e}]}
                  - {name: api, listener: api, pool: api, settings: e2e}
                  - {name: to-https, listener: plain, redirect: {listener: www}}
                """)
            _ = try #require(try harness.process?.waitFor("(listening api on 127\\.0\\.0\\.1:\(shared))"))

            // SNI picks the certificate (openssl s_client -servername), before any HTTP.
            for (name, expected) in [("www.contoso.test", "www.contoso.test"), ("api.contoso.test", "api.contoso.test"),
                                     ("v2.api.contoso.test", "api.contoso.test")] {
                let result = try ProcessRunner.run("openssl", [
                    "s_client", "-connect", "127.0.0.1:\(shared)", "-servername", name, "-CAfile", dir.file("pki/root-ca.pem"),
                ], input: Array("Q\n".utf8), timeout: 20)
                #expect(Self.subject(result.stdout) == expected, "\(name): \(result.stdout.prefix(600))")
            }
            func get(_ host: String, _ path: String, scheme: String = "https", port: Int = shared) throws -> (String, String) {
                let result = try ProcessRunner.run("curl", [
                    "-s", "--max-time", "20", "--cacert", dir.file("pki/root-ca.pem"), "--resolve", "\(host):\(port):127.0.0.1",
                    "-D", "-", "-o", "/dev/null", "-w", "%{http_code}", "\(scheme)://\(host):\(port)\(path)",
                ])
                return (String(result.stdout.suffix(3)), result.stdout)
            }
            // Host picks the site, and the site's rule and path map pick the pool.
            let counts = { backends.mapValues(\.acceptedConnections) }
            #expect(try get("www.contoso.test", "/").0 == "200")
            #expect(try get("www.contoso.test", "/images/cat.png").0 == "200")
            #expect(try get("www.contoso.test", "/video/1.mp4").0 == "200")
            #expect(try get("api.contoso.test", "/v1/users").0 == "200")
            #expect(counts() == ["www": 1, "images": 1, "video": 1, "api": 1], "\(counts())")
            #expect(try get("www.contoso.test", "/imagesx").0 == "200" && counts()["www"] == 1, "pooled: still one connection")

            // HTTP to HTTPS: 301 to the same host, path and query on the www listener's port.
            let (status, headers) = try get("www.contoso.test", "/a/b?x=1&y=2", scheme: "http", port: plain)
            #expect(status == "301", "\(headers)")
            #expect(headers.lowercased().contains("location: https://www.contoso.test:\(shared)/a/b?x=1&y=2"), "\(headers)")
            for backend in backends.values { await backend.stop() }
        }
    }

    @Test("require-sni refuses a handshake naming no site; two default sites on one port are a configuration problem")
    func requireSNI() async throws {
        try await withGateway { harness, dir in
            try harness.issueLeaf("www.contoso.test", prefix: "site-www.contoso.test")
            let backend = try await echoBackend(harness, "valid")
            let shared = try freePort()
            let common = GatewayHarness.onePool(memberPort: backend.port)
            let body = """
                  - {name: www, address: 127.0.0.1, port: \(shared), host-names: [www.contoso.test], require-sni: true, certificate: {pem: pki/site-www.contoso.test.pem, key: pki/site-www.contoso.test.key}}
                \(common)
                  - {name: www, listener: www, pool: app, settings: e2e}
                """
            try harness.writeConfiguration("""
                  - {name: a, address: 127.0.0.1, port: \(shared), protocol: http}
                  - {name: b, address: 127.0.0.1, port: \(shared), protocol: http}
                \(common)
                """)
            let check = try TrustGateBinary.run(["gateway", "check-config", "gateway.yaml"], in: dir.path)
            #expect(check.status == 65 && check.stderr.contains("only one site there can be the default"), "\(check)")

            try harness.start(body)
            func handshake(_ name: String?) throws -> ProcessResult {
                try ProcessRunner.run("openssl", ["s_client", "-connect", "127.0.0.1:\(shared)", "-CAfile", dir.file("pki/root-ca.pem")]
                    + (name.map { ["-servername", $0] } ?? ["-noservername"]), input: Array("Q\n".utf8), timeout: 20)
            }
            #expect(Self.subject(try handshake("www.contoso.test").stdout) == "www.contoso.test")
            #expect(Self.subject(try handshake("other.test").stdout) == nil, "no site for other.test: no certificate")
            #expect(Self.subject(try handshake(nil).stdout) == nil, "no SNI: refused")
            await backend.stop()
        }
    }
}

@Suite("gateway run: cookie-based affinity")
struct GatewayAffinityTests {
    @Test("100 requests with the cookie reach one member; without it they spread; when it stops, requests move and the cookie is re-issued")
    func affinity() async throws {
        try await withGateway { harness, dir in
            let first = try await echoBackend(harness, "valid")
            let second = try await echoBackend(harness, "valid")
            try harness.start("""
                pools:
                  - {name: app, members: ["127.0.0.1:\(first.port)", "127.0.0.1:\(second.port)"]}
                backend-settings:
                  - {name: e2e, host-name: backend.test, affinity: {cookie: Sticky, same-site-none: true}}
                rules:
                  - {name: r, listener: main, pool: app, settings: e2e}
                """)
            /// `count` requests on one curl connection; the ports that served them, and the Set-Cookie lines.
            func requests(_ count: Int, cookie: String? = nil) throws -> (servedBy: [Int], setCookies: [String]) {
                let urls = (0..<count).map { "https://gateway.test:\(harness.port)/n\($0)" }
                let result = try ProcessRunner.run("curl", [
                    "-s", "--max-time", "60", "--cacert", dir.file("pki/root-ca.pem"), "--resolve",
                    "gateway.test:\(harness.port):127.0.0.1", "-i",
                ] + (cookie.map { ["-b", "Sticky=\($0)"] } ?? []) + urls, timeout: 90)
                let lines = result.stdout.split(whereSeparator: \.isNewline)
                return (lines.compactMap { $0.hasPrefix("served-by: ") ? Int($0.dropFirst("served-by: ".count)) : nil },
                        lines.filter { $0.lowercased().hasPrefix("set-cookie:") }.map(String.init))
            }
            let spread = try requests(10)
            #expect(Set(spread.servedBy) == [first.port, second.port], "round-robin without the cookie: \(spread.servedBy)")
            let cookie = try #require(spread.setCookies.first, "a cookie is issued")
            #expect(cookie.contains("; Path=/; HttpOnly; Secure; SameSite=None"), "\(cookie)")
            let value = try #require(cookie.split(separator: ";").first?.split(separator: "=").last.map(String.init))

            let sticky = try requests(100, cookie: value)
            #expect(sticky.servedBy.count == 100 && Set(sticky.servedBy).count == 1, "\(Set(sticky.servedBy))")
            #expect(sticky.setCookies.isEmpty, "the cookie already names the member: not re-issued")
            let member = try #require(sticky.servedBy.first)

            // The member stops: requests with the old cookie move to the other, which issues its own cookie.
            let (gone, other) = member == first.port ? (first, second) : (second, first)
            await gone.stop()
            let moved = try requests(5, cookie: value)
            #expect(Set(moved.servedBy) == [other.port], "\(moved.servedBy)")
            let renewed = try #require(moved.setCookies.first)
            #expect(!renewed.contains("Sticky=\(value);"), "\(renewed)")
            await other.stop()
        }
    }
}

@Suite("gateway run: header rewrites")
struct GatewayRewriteTests {
    @Test("A rule's rewrite sets and removes request fields (seen by the backend) and response fields (seen by the client)")
    func rewrites() async throws {
        try await withGateway { harness, dir in
            let backend = try await echoBackend(harness, "valid")
            func configuration(_ rewrite: String) -> String {
                GatewayHarness.onePool(memberPort: backend.port).replacingOccurrences(
                    of: "settings: e2e}", with: "settings: e2e, rewrite: \(rewrite)}")
            }
            try harness.start(configuration("""
                {request: {set: {X-Env: prod, Accept: text/plain}, remove: [X-Debug]}, \
                response: {set: {Strict-Transport-Security: "max-age=31536000"}, remove: [Content-Type]}}
                """))
            let response = try harness.curl("/r", ["-i", "-H", "X-Debug: 1", "-H", "Accept: */*", "-H", "X-Keep: yes"])
            #expect(response.status == "200", "\(response)")
            let (head, body) = try #require(response.body.range(of: "\r\n\r\n").map {
                (String(response.body[..<$0.lowerBound]).lowercased(), String(response.body[$0.upperBound...]))
            })
            #expect(head.contains("strict-transport-security: max-age=31536000") && !head.contains("content-type"), "\(head)")
            #expect(body.contains("x-env: prod") && body.contains("accept: text/plain") && !body.contains("accept: */*"), "\(body)")
            #expect(!body.contains("x-debug") && body.contains("x-keep: yes"), "\(body)")

            // What the gateway writes itself cannot be rewritten.
            try harness.writeConfiguration(configuration("{request: {remove: [Host]}}"))
            let check = try TrustGateBinary.run(["gateway", "check-config", "gateway.yaml"], in: dir.path)
            #expect(check.status == 65 && check.stderr.contains("host is written by the gateway"), "\(check)")
            await backend.stop()
        }
    }
}

@Suite("gateway run: active health probes")
struct GatewayProbeTests {
    @Test("A member failing its probe gets no traffic and shows in backend-health; all unhealthy is 502; one success brings it back")
    func probes() async throws {
        try await withGateway { harness, dir in
            let first = try await echoBackend(harness, "valid")
            let second = try await echoBackend(harness, "valid")
            // The echo body names the port that served it: only `first` matches the body-match.
            func configuration(_ match: String) -> String {
                """
                pools:
                  - {name: app, members: ["127.0.0.1:\(first.port)", "127.0.0.1:\(second.port)"]}
                backend-settings:
                  - {name: e2e, host-name: backend.test, probe: {path: /health, interval: 1s, timeout: 5s, unhealthy-threshold: 1, status-codes: ["200-299"], body-match: "\(match)"}}
                rules:
                  - {name: r, listener: main, pool: app, settings: e2e}
                """
            }
            try harness.start(configuration("served-by: \(first.port)"))
            let process = try #require(harness.process)
            _ = try process.waitFor("(backend unhealthy)")
            #expect(process.output.contains("category=unexpected-body"), "\(process.output)")
            for index in 0..<10 {
                let response = try harness.curl("/n\(index)")
                #expect(response.status == "200" && response.body.contains("served-by: \(first.port)"), "\(response)")
            }
            let health = try TrustGateBinary.run(["gateway", "backend-health", "--config", "gateway.yaml", "--json"],
                                                 in: dir.path, environment: harness.environment)
            let report = try JSONDecoder().decode([BackendHealth].self, from: Data(health.stdout.utf8))
            #expect(report.map(\.state) == [.healthy, .unhealthy] && report.last?.category == .unexpectedBody, "\(health.stdout)")

            // No member matches: 502 naming the probe's category.
            try harness.writeConfiguration(configuration("nobody serves this"))
            process.signal(SIGHUP)
            _ = try process.waitFor("(reloaded)")
            var status = ""
            for _ in 0..<100 {
                let response = try harness.curl("/all")
                status = response.status
                if status == "502" {
                    #expect(response.body.contains("unexpected-body"), "\(response)")
                    break
                }
                usleep(50_000)
            }
            #expect(status == "502")
            // A probe that succeeds again brings the members back.
            try harness.writeConfiguration(configuration("served-by"))
            process.signal(SIGHUP)
            for _ in 0..<100 where try harness.curl("/back").status != "200" { usleep(50_000) }
            #expect(try harness.curl("/back").status == "200")
            await first.stop()
            await second.stop()
        }
    }
}

@Suite("gateway run: client certificate to backends (mutual TLS upstream)")
struct GatewayMutualTLSTests {
    @Test("A backend that requires a client certificate: 502 handshake-failed without one, 200 with the configured one")
    func mutualTLS() async throws {
        try await withGateway { harness, dir in
            try harness.issueLeaf("gateway-client.test", prefix: "gateway-client")
            // openssl s_server demanding a client certificate that chains to the test root.
            let server = try BackgroundProcess("openssl", [
                "s_server", "-accept", "127.0.0.1:0", "-www", "-cert", dir.file("pki/backend-valid.pem"),
                "-cert_chain", dir.file("pki/backend-valid.pem"), "-key", dir.file("pki/backend-valid.key"),
                "-Verify", "2", "-CAfile", dir.file("pki/root-ca.pem"), "-verify_return_error",
            ])
            defer { server.stop() }
            let port = try #require(Int(try server.waitFor("ACCEPT 127\\.0\\.0\\.1:([0-9]+)")))
            try harness.start("""
                pools:
                  - {name: app, members: ["127.0.0.1:\(port)"]}
                backend-settings:
                  - {name: anonymous, host-name: backend.test}
                  - {name: mutual, host-name: backend.test, client-certificate: {pem: pki/gateway-client.pem, key: pki/gateway-client.key}}
                rules:
                  - {name: r, listener: main, pool: app, settings: anonymous, paths: [{match: "/mtls/*", pool: app, settings: mutual}]}
                """)
            let refused = try harness.curl("/plain")
            #expect(refused.status == "502" && refused.body.contains("handshake-failed"), "\(refused)")
            let accepted = try harness.curl("/mtls/page")
            #expect(accepted.status == "200", "\(accepted)")
            #expect(accepted.body.contains("gateway-client.test"), "s_server's page names the client certificate: \(accepted.body.prefix(2000))")
            // backend-health probes with the same client certificate as live traffic.
            let health = try TrustGateBinary.run(["gateway", "backend-health", "--config", "gateway.yaml", "--json"],
                                                 in: dir.path, environment: harness.environment)
            let report = try JSONDecoder().decode([BackendHealth].self, from: Data(health.stdout.utf8))
            let mutual = try #require(report.first { $0.settings == "mutual" }, "\(health.stdout)")
            #expect(mutual.state == .healthy && mutual.httpStatus == 200, "\(mutual)")
            #expect(report.first { $0.settings == "anonymous" }?.state == .unhealthy, "\(health.stdout)")
        }
    }
}

@Suite("gateway run: connection draining when a member leaves")
struct GatewayDrainingTests {
    @Test("A reload that removes a member: its request in flight completes, its idle connections close, new requests go to the new member")
    func memberLeaves() async throws {
        try await withGateway { harness, dir in
            let old = try await echoBackend(harness, "valid")
            let new = try await echoBackend(harness, "valid")
            try harness.startOnePool(memberPort: old.port, settings: "threads: 1")
            #expect(try harness.curl("/warm").status == "200")
            #expect(old.openConnections == 1, "one pooled connection to the old member")
            // A slow request in flight on a second connection while the member leaves.
            let slow = try BackgroundProcess("curl", [
                "-s", "--max-time", "20", "--cacert", dir.file("pki/root-ca.pem"), "--resolve",
                "gateway.test:\(harness.port):127.0.0.1", "-w", "\n%{http_code}", "https://gateway.test:\(harness.port)/slow/x",
            ])
            defer { slow.stop() }
            for _ in 0..<100 where old.openConnections < 2 { usleep(20_000) }
            try harness.writeConfiguration(GatewayHarness.onePool(memberPort: new.port, settings: "threads: 1"))
            let process = try #require(harness.process)
            process.signal(SIGHUP)
            _ = try process.waitFor("(reloaded)")
            #expect(try harness.curl("/after").body.contains("served-by: \(new.port)"))
            _ = try slow.waitFor("(\\n200)$")
            #expect(slow.output.contains("served-by: \(old.port)"), "the request in flight finished on the old member")
            for _ in 0..<100 where old.openConnections > 0 { usleep(20_000) }
            #expect(old.openConnections == 0, "no connection to the old member is kept")
            await old.stop()
            await new.stop()
        }
    }
}

@Suite("gateway run: client timeouts")
struct GatewayClientTimeoutTests {
    @Test("An idle keep-alive connection closes after client-timeouts.keep-alive; a head left unfinished gets 408")
    func clientTimeouts() async throws {
        try await withGateway { harness, dir in
            let backend = try await echoBackend(harness, "valid")
            try harness.startOnePool(memberPort: backend.port, settings: "client-timeouts: {keep-alive: 1s, header: 1s}")
            func client() throws -> BackgroundProcess {
                try BackgroundProcess("openssl", [
                    "s_client", "-quiet", "-connect", "127.0.0.1:\(harness.port)", "-servername", "gateway.test",
                    "-CAfile", dir.file("pki/root-ca.pem"),
                ], keepStandardInputOpen: true)
            }
            // A request answered, then nothing: the gateway closes the connection (s_client exits by itself).
            let idle = try client()
            defer { idle.stop() }
            idle.send("GET /one HTTP/1.1\r\nHost: gateway.test\r\n\r\n")
            _ = try idle.waitFor("(GET /one HTTP/1.1)")
            let start = Date()
            #expect(idle.waitForExit(timeout: 10) != nil, "\(idle.output)")
            #expect(Date().timeIntervalSince(start) < 5)
            // Half a head: 408, then closed.
            let slow = try client()
            defer { slow.stop() }
            slow.send("GET /two HTTP/1.1\r\nHost: gateway")
            #expect(try slow.waitFor("(HTTP/1.1 408 Request Timeout)") == "HTTP/1.1 408 Request Timeout")
            #expect(slow.waitForExit(timeout: 10) != nil, "\(slow.output)")
            await backend.stop()
        }
    }
}
