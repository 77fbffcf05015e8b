import Foundation
import Testing
import TrustGateGateway
import TrustGatePKI
import TrustGateTesting

/// The gateway as users run it: real backends (openssl s_server), a real client (curl), a real store.
@Suite("trustgate gateway run")
struct GatewayRunTests {
    /// Backends for some test-PKI scenarios, each behind its own path: `/<scenario>/…`.
    static let scenarios = ["valid", "expired", "wrong-host", "untrusted", "self-signed", "missing-intermediate"]

    func curl(_ port: Int, _ path: String, in dir: TemporaryDirectory) throws -> (status: String, body: String) {
        let result = try ProcessRunner.run("curl", [
            "-s", "--max-time", "20", "--cacert", dir.file("pki/root-ca.pem"), "--resolve",
            "gateway.test:\(port):127.0.0.1", "-w", "\n%{http_code}", "https://gateway.test:\(port)\(path)",
        ])
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
    }

    @Test("Valid backend 200; each bad backend 502 naming its category; allow-list changes apply live")
    func endToEnd() async throws {
        try await withTemporaryDirectory { dir in
            let env = ["TRUSTGATE_STORE": dir.file("store.sqlite")]
            try #require(try TrustGateBinary.run(["cert", "testpki", "pki"], in: dir.path).status == 0)
            try #require(try TrustGateBinary.run(["allowlist", "add", "--gateway", "g", "pki/root-ca.pem"],
                                                 in: dir.path, environment: env).status == 0)
            var backends: [BackgroundProcess] = []
            defer { for backend in backends { backend.stop() } }
            var ports: [String: Int] = [:]
            for scenario in Self.scenarios {
                let server = try BackgroundProcess("openssl", [
                    "s_server", "-accept", "127.0.0.1:0", "-www", "-cert", dir.file("pki/backend-\(scenario).pem"),
                    "-cert_chain", dir.file("pki/backend-\(scenario).pem"), "-key", dir.file("pki/backend-\(scenario).key"),
                ])
                backends.append(server)
                ports[scenario] = Int(try server.waitFor("ACCEPT 127\\.0\\.0\\.1:([0-9]+)"))
            }
            let pools = Self.scenarios.map { "  - {name: \($0), members: [\"127.0.0.1:\(ports[$0] ?? 0)\"]}" }
            let paths = Self.scenarios.map { "      - {match: \"/\($0)/*\", pool: \($0), settings: e2e}" }
            try dir.write("gateway.yaml", text: """
                gateway: g
                listeners:
                  - name: main
                    address: 127.0.0.1
                    port: 0
                    certificate: {pfx: pki/gateway-listener.pfx, password-file: pki/gateway-listener.pass}
                pools:
                \(pools.joined(separator: "\n"))
                backend-settings:
                  - {name: e2e, host-name: backend.test, trust: trusted-root, request-timeout: 10s}
                rules:
                  - name: r
                    listener: main
                    pool: valid
                    settings: e2e
                    paths:
                \(paths.joined(separator: "\n"))

                """)
            let gateway = try BackgroundProcess(try TrustGateBinary.path, ["gateway", "run", "--config", "gateway.yaml"],
                                                currentDirectory: dir.path, environment: env)
            defer { gateway.stop() }
            let port = try #require(Int(try gateway.waitFor("listening main on 127\\.0\\.0\\.1:([0-9]+)")))

            let valid = try curl(port, "/valid/x", in: dir)
            #expect(valid.status == "200", "\(valid) \(gateway.output)")
            let expected: [String: String] = [
                "expired": "expired", "wrong-host": "hostname-mismatch", "untrusted": "untrusted-root",
                "self-signed": "untrusted-root", "missing-intermediate": "incomplete-chain",
            ]
            for (scenario, category) in expected {
                let response = try curl(port, "/\(scenario)/", in: dir)
                #expect(response.status == "502", "\(scenario): \(response)")
                #expect(response.body.contains(category), "\(scenario): \(response)")
            }
            #expect(gateway.output.contains("backend rejected"), "one log line per rejection")
            #expect(gateway.output.contains("category=expired") || gateway.output.contains("category: expired")
                    || gateway.output.contains("expired"))

            // Remove the root: within a second the valid backend is refused, without a restart; add it back: 200.
            try #require(try TrustGateBinary.run(["allowlist", "remove", "--gateway", "g", "TrustGate Test Root CA"],
                                                 in: dir.path, environment: env).status == 0)
            var afterRemove = ""
            for _ in 0..<20 {
                afterRemove = try curl(port, "/valid/", in: dir).status
                if afterRemove == "502" { break }
                usleep(100_000)
            }
            #expect(afterRemove == "502", "\(gateway.output)")
            try #require(try TrustGateBinary.run(["allowlist", "add", "--gateway", "g", "pki/root-ca.pem"],
                                                 in: dir.path, environment: env).status == 0)
            var afterAdd = ""
            for _ in 0..<20 {
                afterAdd = try curl(port, "/valid/", in: dir).status
                if afterAdd == "200" { break }
                usleep(100_000)
            }
            #expect(afterAdd == "200", "\(gateway.output)")
        }
    }
}

@Suite("trustgate demo")
struct DemoCommandTests {
    @Test("The README's first command: 200 through the gateway with the X-Forwarded-* set, then 502 untrusted-root")
    func demo() throws {
        let result = try TrustGateBinary.run(["demo"], timeout: 120)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("GET /hello through the gateway → 200 OK"))
        for header in ["x-forwarded-for: 127.0.0.1", "x-forwarded-proto: https", "x-forwarded-port: ",
                       "x-forwarded-host: gateway.test:", "x-original-host: gateway.test:", "host: backend.test:"] {
            #expect(result.stdout.contains("the backend saw  \(header)"), "\(header): \(result.stdout)")
        }
        #expect(result.stdout.contains("→ 502") && result.stdout.contains("reason category: untrusted-root"))
        #expect(result.stdout.contains("removed "))
    }
}

@Suite("Gateway streaming")
struct GatewayStreamingTests {
    @Test("1 GiB down (openssl s_server -WWW) and 1 GiB up (EchoBackend) through the gateway; its peak RSS stays under 100 MiB")
    func largeTransfers() async throws {
        try await withTemporaryDirectory { dir in
            let env = ["TRUSTGATE_STORE": dir.file("store.sqlite")]
            try #require(try TrustGateBinary.run(["cert", "testpki", "pki"], in: dir.path).status == 0)
            try #require(try TrustGateBinary.run(["allowlist", "add", "--gateway", "g", "pki/root-ca.pem"],
                                                 in: dir.path, environment: env).status == 0)
            let size: UInt64 = 1 << 30
            try FileManager.default.createDirectory(atPath: dir.file("www"), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: dir.file("www/big.bin"), contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("www/big.bin")))
            try handle.truncate(atOffset: size)  // sparse: reads as zeros without using the disk
            try handle.close()
            let files = try BackgroundProcess("openssl", [
                "s_server", "-accept", "127.0.0.1:0", "-WWW", "-cert", dir.file("pki/backend-valid.pem"),
                "-cert_chain", dir.file("pki/backend-valid.pem"), "-key", dir.file("pki/backend-valid.key"),
            ], currentDirectory: dir.file("www"))
            defer { files.stop() }
            let filesPort = try #require(Int(try files.waitFor("ACCEPT 127\\.0\\.0\\.1:([0-9]+)")))
            let pki = try CertificateBundle.decode(try dir.read("pki/backend-valid.pem")).certificates
            let key = try #require(try CertificateBundle.decode(try dir.read("pki/backend-valid.key")).privateKeys.first)
            let echo = try await EchoBackend.start(certificates: pki, key: key)
            try dir.write("gateway.yaml", text: """
                gateway: g
                listeners:
                  - {name: main, address: 127.0.0.1, port: 0, certificate: {pfx: pki/gateway-listener.pfx, password-file: pki/gateway-listener.pass}}
                pools:
                  - {name: files, members: ["127.0.0.1:\(filesPort)"]}
                  - {name: echo, members: ["127.0.0.1:\(echo.port)"]}
                backend-settings:
                  - {name: e2e, host-name: backend.test, request-timeout: 120s}
                rules:
                  - {name: r, listener: main, pool: files, settings: e2e, paths: [{match: "/upload/*", pool: echo, settings: e2e}]}

                """)
            let gateway = try BackgroundProcess(try TrustGateBinary.path, ["gateway", "run", "--config", "gateway.yaml"],
                                                currentDirectory: dir.path, environment: env)
            defer { gateway.stop() }
            let port = try #require(Int(try gateway.waitFor("listening main on 127\\.0\\.0\\.1:([0-9]+)")))
            let common = ["-s", "--max-time", "300", "--cacert", dir.file("pki/root-ca.pem"), "--resolve",
                          "gateway.test:\(port):127.0.0.1"]
            let down = try ProcessRunner.run("curl", common + ["-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                                                              "https://gateway.test:\(port)/big.bin"], timeout: 310)
            #expect(down.stdout == "200 \(size)", "\(down)")
            let up = try ProcessRunner.run("curl", common + ["-T", dir.file("www/big.bin"), "-w", "\n%{http_code} %{size_upload}",
                                                            "https://gateway.test:\(port)/upload/big.bin"], timeout: 310)
            #expect(up.stdout.hasSuffix("200 \(size)"), "\(up.stdout.suffix(200))")
            #expect(up.stdout.contains("PUT /upload/big.bin"), "the backend got the upload")
            let peak = try #require(gateway.peakResidentBytes)
            print("gateway peak RSS after 1 GiB each way: \(peak >> 20) MiB")
            #expect(peak < 100 << 20, "peak RSS \(peak >> 20) MiB")
            await echo.stop()
        }
    }
}

@Suite("gateway run: bad input")
struct GatewayRunFailureTests {
    @Test("A wrong listener PFX password is 65 naming the file; a port in use is 74; a broken config is 65")
    func failures() async throws {
        try await withTemporaryDirectory { dir in
            try #require(try TrustGateBinary.run(["cert", "testpki", "pki"], in: dir.path).status == 0)
            try dir.write("wrong.pass", text: "not-it\n")
            let config = { (passwordFile: String, port: Int) in """
                gateway: g
                store: store.sqlite
                listeners:
                  - {name: main, address: 127.0.0.1, port: \(port), certificate: {pfx: pki/gateway-listener.pfx, password-file: \(passwordFile)}}
                pools: [{name: p, members: ["127.0.0.1:9"]}]
                backend-settings: [{name: s, host-name: backend.test}]
                rules: [{name: r, listener: main, pool: p, settings: s}]

                """ }
            try dir.write("wrong.yaml", text: config("wrong.pass", 0))
            let wrong = try TrustGateBinary.run(["gateway", "run", "--config", "wrong.yaml"], in: dir.path, timeout: 30)
            #expect(wrong.status == 65 && wrong.stderr.contains("wrong password"), "\(wrong)")
            // Hold a port, then ask the gateway to bind it.
            let holder = try BackgroundProcess("openssl", ["s_server", "-accept", "127.0.0.1:0", "-cert",
                dir.file("pki/backend-valid.pem"), "-key", dir.file("pki/backend-valid.key"), "-www"])
            defer { holder.stop() }
            let busy = try #require(Int(try holder.waitFor("ACCEPT 127\\.0\\.0\\.1:([0-9]+)")))
            try dir.write("busy.yaml", text: config("pki/gateway-listener.pass", busy))
            let inUse = try TrustGateBinary.run(["gateway", "run", "--config", "busy.yaml"], in: dir.path, timeout: 30)
            #expect(inUse.status == 74, "\(inUse)")
            try dir.write("broken.yaml", text: "gateway: g\nlisteners: nope\n")
            let broken = try TrustGateBinary.run(["gateway", "run", "--config", "broken.yaml"], in: dir.path, timeout: 30)
            #expect(broken.status == 65, "\(broken)")
        }
    }
}

@Suite("gateway run: backends down or silent")
struct GatewayBackendFailureTests {
    @Test("Nothing listening on the member: 502 unreachable; a backend that never answers: 504 timeout")
    func downAndSilent() async throws {
        try await withTemporaryDirectory { dir in
            let env = ["TRUSTGATE_STORE": dir.file("store.sqlite")]
            try #require(try TrustGateBinary.run(["cert", "testpki", "pki"], in: dir.path).status == 0)
            try #require(try TrustGateBinary.run(["allowlist", "add", "--gateway", "g", "pki/root-ca.pem"],
                                                 in: dir.path, environment: env).status == 0)
            // openssl s_server without -www completes the TLS handshake and then never sends an HTTP response
            // (its standard input is kept open: at end of input it would shut down).
            let silent = try BackgroundProcess("openssl", [
                "s_server", "-accept", "127.0.0.1:0", "-cert", dir.file("pki/backend-valid.pem"),
                "-cert_chain", dir.file("pki/backend-valid.pem"), "-key", dir.file("pki/backend-valid.key"),
            ], keepStandardInputOpen: true)
            defer { silent.stop() }
            let silentPort = try #require(Int(try silent.waitFor("ACCEPT 127\\.0\\.0\\.1:([0-9]+)")))
            // A port that was free a moment ago: bind, read the port, close.
            let closedPort = try #require(Int(try {
                let holder = try BackgroundProcess("openssl", ["s_server", "-accept", "127.0.0.1:0", "-cert",
                    dir.file("pki/backend-valid.pem"), "-key", dir.file("pki/backend-valid.key"), "-www"])
                defer { holder.stop() }
                return try holder.waitFor("ACCEPT 127\\.0\\.0\\.1:([0-9]+)")
            }()))
            try dir.write("gateway.yaml", text: """
                gateway: g
                listeners:
                  - {name: main, address: 127.0.0.1, port: 0, certificate: {pfx: pki/gateway-listener.pfx, password-file: pki/gateway-listener.pass}}
                pools:
                  - {name: down, members: ["127.0.0.1:\(closedPort)"]}
                  - {name: silent, members: ["127.0.0.1:\(silentPort)"]}
                backend-settings:
                  - {name: e2e, host-name: backend.test, request-timeout: 1s, connect-timeout: 2s}
                rules:
                  - {name: r, listener: main, pool: down, settings: e2e, paths: [{match: "/silent/*", pool: silent, settings: e2e}]}

                """)
            let gateway = try BackgroundProcess(try TrustGateBinary.path, ["gateway", "run", "--config", "gateway.yaml"],
                                                currentDirectory: dir.path, environment: env)
            defer { gateway.stop() }
            let port = try #require(Int(try gateway.waitFor("listening main on 127\\.0\\.0\\.1:([0-9]+)")))
            for (path, status, reason) in [("/", "502", "unreachable"), ("/silent/x", "504", "timeout")] {
                let result = try ProcessRunner.run("curl", [
                    "-s", "--max-time", "20", "--cacert", dir.file("pki/root-ca.pem"), "--resolve",
                    "gateway.test:\(port):127.0.0.1", "-w", "\n%{http_code}", "https://gateway.test:\(port)\(path)",
                ])
                #expect(result.stdout.hasSuffix(status), "\(path): \(result) \(gateway.output)")
                #expect(result.stdout.contains(reason), "\(path): \(result)")
            }
        }
    }
}
