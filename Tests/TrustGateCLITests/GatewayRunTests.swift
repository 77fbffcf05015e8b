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

    @Test("Valid backend 200; each bad backend 502 naming its category; allow-list changes apply live")
    func endToEnd() async throws {
        try await withGateway { harness, dir in
            let backends = try harness.scenarioBackends(Self.scenarios.map { ($0, .openssl) }, settings: "e2e")
            try harness.start("""
                pools:
                \(backends.pools)
                backend-settings:
                  - {name: e2e, host-name: backend.test, trust: trusted-root, request-timeout: 10s}
                rules:
                  - {name: r, listener: main, pool: valid, settings: e2e, paths: [\(backends.paths)]}
                """)

            let valid = try harness.curl("/valid/x")
            #expect(valid.status == "200", "\(valid) \(harness.output)")
            let expected: [String: String] = [
                "expired": "expired", "wrong-host": "hostname-mismatch", "untrusted": "untrusted-root",
                "self-signed": "untrusted-root", "missing-intermediate": "incomplete-chain",
            ]
            for (scenario, category) in expected {
                let response = try harness.curl("/\(scenario)/")
                #expect(response.status == "502", "\(scenario): \(response)")
                #expect(response.body.contains(category), "\(scenario): \(response)")
                #expect(harness.output.contains("category=\(category)"), "the log names \(category)")
            }
            #expect(harness.output.contains("backend rejected"), "one log line per rejection")

            // Remove the root: once the gateway has loaded the change (within a second, no restart), the next
            // request is refused; add it back: the next one is 200.
            try harness.changeAllowList(["remove", "--gateway", "g", "TrustGate Test Root CA"])
            let afterRemove = try harness.curl("/valid/")
            #expect(afterRemove.status == "502", "\(afterRemove) \(harness.output)")
            try harness.changeAllowList(["add", "--gateway", "g", "pki/root-ca.pem"])
            let afterAdd = try harness.curl("/valid/")
            #expect(afterAdd.status == "200", "\(afterAdd) \(harness.output)")
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
        try await withGateway { harness, dir in
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
            let echo = try await echoBackend(harness, "valid")
            let port = try harness.start("""
                pools:
                  - {name: files, members: ["127.0.0.1:\(filesPort)"]}
                  - {name: echo, members: ["127.0.0.1:\(echo.port)"]}
                backend-settings:
                  - {name: e2e, host-name: backend.test, request-timeout: 120s}
                rules:
                  - {name: r, listener: main, pool: files, settings: e2e, paths: [{match: "/upload/*", pool: echo, settings: e2e}]}
                """)
            let common = ["-s", "--max-time", "300", "--cacert", dir.file("pki/root-ca.pem"), "--resolve",
                          "gateway.test:\(port):127.0.0.1"]
            // Each transfer takes seconds to minutes: on a thread of its own, not on the cooperative pool.
            let down = try await blocking {
                try ProcessRunner.run("curl", common + ["-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                                                       "https://gateway.test:\(port)/big.bin"], timeout: 310)
            }
            #expect(down.stdout == "200 \(size)", "\(down)")
            let upload = dir.file("www/big.bin")
            let up = try await blocking {
                try ProcessRunner.run("curl", common + ["-T", upload, "-w", "\n%{http_code} %{size_upload}",
                                                       "https://gateway.test:\(port)/upload/big.bin"], timeout: 310)
            }
            #expect(up.stdout.hasSuffix("200 \(size)"), "\(up.stdout.suffix(200))")
            #expect(up.stdout.contains("PUT /upload/big.bin"), "the backend got the upload")
            let peak = try #require(harness.process?.peakResidentBytes)
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
            #expect(wrong.stderr.contains("gateway-listener.pfx"), "the error names the file: \(wrong)")
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
        try await withGateway { harness, dir in
            // openssl s_server without -www completes the TLS handshake and then never sends an HTTP response
            // (its standard input is kept open: at end of input it would shut down).
            let silent = try BackgroundProcess("openssl", [
                "s_server", "-accept", "127.0.0.1:0", "-cert", dir.file("pki/backend-valid.pem"),
                "-cert_chain", dir.file("pki/backend-valid.pem"), "-key", dir.file("pki/backend-valid.key"),
            ], keepStandardInputOpen: true)
            defer { silent.stop() }
            let silentPort = try #require(Int(try silent.waitFor("ACCEPT 127\\.0\\.0\\.1:([0-9]+)")))
            let closedPort = try freePort()  // free a moment ago: nothing listens there
            try harness.start("""
                pools:
                  - {name: down, members: ["127.0.0.1:\(closedPort)"]}
                  - {name: silent, members: ["127.0.0.1:\(silentPort)"]}
                backend-settings:
                  - {name: e2e, host-name: backend.test, request-timeout: 1s, connect-timeout: 2s}
                rules:
                  - {name: r, listener: main, pool: down, settings: e2e, paths: [{match: "/silent/*", pool: silent, settings: e2e}]}
                """)
            for (path, status, reason) in [("/", "502", "unreachable"), ("/silent/x", "504", "timeout")] {
                let response = try harness.curl(path)
                #expect(response.status == status, "\(path): \(response) \(harness.output)")
                #expect(response.body.contains(reason), "\(path): \(response)")
            }
        }
    }
}
