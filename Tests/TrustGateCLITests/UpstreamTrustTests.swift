import Foundation
import Testing
import TrustGatePKI
import TrustGateTesting

/// The upstream trust promise tried as an attacker would, with real TLS servers: impostors that present the real
/// backend's public chain behind a leaf of their own, certificates no reader may trap on, and backends that
/// never finish a handshake.
@Suite("gateway run: upstream trust that cannot be bypassed")
struct UpstreamTrustTests {
    /// Writes a hostile or impostor leaf and its key under `pki/`.
    static func write(_ pem: String, key: PrivateKeyMaterial, as name: String, in dir: TemporaryDirectory) throws {
        try dir.write("pki/\(name).pem", text: pem)
        try dir.write("pki/\(name).key", text: try key.pkcs8PEM())
    }

    /// Backends per path, one gateway, one backend setting with `trust`.
    static func start(
        _ harness: GatewayHarness, trust: String, backends: [(name: String, port: Int)], settings: String = "",
        gateway: String = "g"
    ) throws {
        let pools = backends.map { "  - {name: \($0.name), members: [\"127.0.0.1:\($0.port)\"]}" }.joined(separator: "\n")
        let paths = backends.map { "{match: \"/\($0.name)/*\", pool: \($0.name), settings: e2e}" }.joined(separator: ", ")
        try harness.start("""
            pools:
            \(pools)
            backend-settings:
              - {name: e2e, host-name: backend.test, trust: \(trust)\(settings)}
            rules:
              - {name: r, listener: main, pool: \(backends[0].name), settings: e2e, paths: [\(paths)]}
            """, gateway: gateway)
    }

    @Test("An impostor presenting [a leaf we cannot parse, the real public chain] is 502 malformed in every trust mode")
    func unparseableImpostor() async throws {
        let hostile = try HostileCertificates()
        for (trust, environment) in [("trusted-root", [:]), ("pinned", [:]), ("well-known-ca", ["SSL_CERT_FILE": "pki/root-ca.pem"])] {
            try await withTemporaryDirectory { dir in
                let harness = try GatewayHarness(in: dir, registerRoot: trust == "trusted-root", environment: environment)
                defer { harness.stop() }
                if trust == "pinned" { try harness.allowlist(["add", "--gateway", "g", "pki/backend-valid.pem"]) }
                var backends: [(name: String, port: Int)] = [("valid", try harness.opensslBackend(
                    certificate: "pki/backend-valid.pem", chain: "pki/backend-valid.pem", key: "pki/backend-valid.key").1)]
                // Every mode gets the BER-boolean leaf; trusted-root also every extreme-INTEGER leaf.
                let variants = trust == "trusted-root" ? hostile.variants.filter { $0.name != "version-2^64" }
                    : hostile.variants.filter { $0.name == "ber-boolean" }
                for variant in variants {
                    let name = "impostor-" + variant.name.replacingOccurrences(of: "^", with: "")
                    try Self.write(variant.pem, key: variant.key, as: name, in: dir)
                    backends.append((name, try harness.opensslBackend(
                        certificate: "pki/\(name).pem", chain: "pki/backend-valid.pem", key: "pki/\(name).key").1))
                }
                try Self.start(harness, trust: trust, backends: backends)
                for (name, port) in backends.dropFirst() {
                    let response = try harness.curl("/\(name)/x")
                    #expect(response.status == "502" && response.body.contains("malformed"),
                            "\(trust) \(name): \(response) \(harness.output)")
                    // The same chain through allowlist check --connect: refused with the same category.
                    let check = try TrustGateBinary.run([
                        "allowlist", "check", "--gateway", "g", "--connect", "127.0.0.1:\(port)", "--hostname",
                        "backend.test", "--mode", trust,
                    ], in: dir.path, environment: harness.environment.merging(environment) { $1 })
                    #expect(check.status == 1 && check.stdout.contains("malformed"), "\(trust) \(name): \(check)")
                }
                // The gateway keeps serving: no variant took it down.
                let valid = try harness.curl("/valid/x")
                #expect(valid.status == "200", "\(trust): \(valid) \(harness.output)")
                #expect(harness.process?.waitForExit(timeout: 0) == nil, "the gateway is still running")
            }
        }
    }

    @Test("pinned: a self-signed impostor leaf followed by the pinned certificate is refused for a leaf-key and an intermediate-key pin; a staged next key passes")
    func forgedPins() async throws {
        try await withTemporaryDirectory { dir in
            let harness = try GatewayHarness(in: dir, registerRoot: false)
            defer { harness.stop() }
            let impostor = try CustomCertificate("backend.test", ca: false, sans: [.dnsName("backend.test")])
            try Self.write(impostor.certificate.pem, key: impostor.key, as: "impostor", in: dir)
            // A rotated leaf: the backend's next key, staged on the entry before the backend moves to it.
            try harness.issueLeaf("backend.test", prefix: "rotated")
            let rotated = try CertificateBundle.decode(try dir.read("pki/rotated.pem")).certificates[0]
            try harness.allowlist([
                "add", "--gateway", "g", "pki/backend-valid.pem", "--as", "spki-pin", "--next-pin", rotated.spkiPin,
            ])
            try harness.allowlist(["add", "--gateway", "ca", "pki/intermediate-ca.pem", "--as", "spki-pin"])
            let backends: [(name: String, port: Int)] = [
                ("valid", try harness.opensslBackend(certificate: "pki/backend-valid.pem", chain: "pki/backend-valid.pem",
                                                     key: "pki/backend-valid.key").1),
                ("rotated", try harness.opensslBackend(certificate: "pki/rotated.pem", chain: "pki/rotated.pem",
                                                       key: "pki/rotated.key").1),
                ("impostor", try harness.opensslBackend(certificate: "pki/impostor.pem", chain: "pki/backend-valid.pem",
                                                        key: "pki/impostor.key").1),
            ]
            try Self.start(harness, trust: "pinned", backends: backends)
            #expect(try harness.curl("/valid/x").status == "200", "\(harness.output)")
            #expect(try harness.curl("/rotated/x").status == "200", "the staged next key: \(harness.output)")
            let forged = try harness.curl("/impostor/x")
            #expect(forged.status == "502" && forged.body.contains("not-allowlisted"), "leaf-key pin: \(forged)")
            harness.stopGateway()

            // The intermediate's key pinned (gateway ca): the genuine backend chains to it; the impostor does not.
            try Self.start(harness, trust: "pinned", backends: [backends[0], backends[2]], gateway: "ca")
            let second = harness
            #expect(try second.curl("/valid/x").status == "200", "intermediate pin: \(second.output)")
            let forgedCA = try second.curl("/impostor/x")
            #expect(forgedCA.status == "502" && forgedCA.body.contains("not-allowlisted"), "intermediate pin: \(forgedCA)")
        }
    }

    @Test("An entry added with --expires 3 s ahead: 200 before, 502 not-allowlisted within 1 s after, with no store change")
    func entryExpiry() async throws {
        try await withTemporaryDirectory { dir in
            let harness = try GatewayHarness(in: dir, registerRoot: false)
            defer { harness.stop() }
            let (_, port) = try harness.opensslBackend(certificate: "pki/backend-valid.pem", chain: "pki/backend-valid.pem",
                                                       key: "pki/backend-valid.key")
            try Self.start(harness, trust: "pinned", backends: [("app", port)])
            let expiresAt = Date().addingTimeInterval(3)
            try harness.changeAllowList([
                "add", "--gateway", "g", "pki/backend-valid.pem", "--name", "soon", "--expires", RFC3339.format(expiresAt),
            ])
            let before = try harness.curl("/app/x")
            #expect(before.status == "200", "before expiry: \(before) \(harness.output)")
            // Wait until just past the expiry (RFC 3339 keeps whole seconds), then at most a second for the refusal.
            let expiry = expiresAt.timeIntervalSince1970.rounded(.down)
            while Date().timeIntervalSince1970 <= expiry { usleep(50_000) }
            let deadline = Date().addingTimeInterval(1)
            var after = try harness.curl("/app/x")
            while after.status == "200", Date() < deadline { after = try harness.curl("/app/x") }
            #expect(after.status == "502" && after.body.contains("not-allowlisted"), "after expiry: \(after)")
            #expect(harness.output.contains("entry soon matched it but expired at"), "\(harness.output)")
        }
    }

    @Test("A backend that never answers TLS: 504 within connect-timeout + 1 s, no connection left open; backend-health --timeout 2 returns within 4 s")
    func silentBackend() async throws {
        try await withGateway { harness, dir in
            let silent = try SilentBackend()
            defer { silent.stop() }
            try Self.start(harness, trust: "trusted-root", backends: [("app", silent.port)],
                           settings: ", connect-timeout: 2s, request-timeout: 30s")
            let started = Date()
            let urls = (0..<20).flatMap { ["-o", "/dev/null", "https://gateway.test:\(harness.port)/app/\($0)"] }
            let result = try ProcessRunner.run("curl", [
                "-s", "-Z", "--parallel-max", "20", "--max-time", "20", "--cacert", dir.file("pki/root-ca.pem"),
                "--resolve", "gateway.test:\(harness.port):127.0.0.1", "-w", "%{http_code}\n",
            ] + urls, timeout: 30)
            let elapsed = Date().timeIntervalSince(started)
            let statuses = result.stdout.split(separator: "\n")
            #expect(statuses.count == 20 && statuses.allSatisfy { $0 == "504" }, "\(result)")
            #expect(elapsed < 2 + 1 + 1, "20 parallel requests answered in \(elapsed) s")
            #expect(silent.counts.accepted == 20, "\(silent.counts)")
            #expect(silent.waitUntilAllClosed(timeout: 2) == 0, "connections the gateway left open: \(silent.counts)")
            #expect(harness.output.contains("category=timeout"), "\(harness.output)")

            let probeStarted = Date()
            let health = try TrustGateBinary.run(
                ["gateway", "backend-health", "--config", "gateway.yaml", "--timeout", "2"], in: dir.path,
                environment: harness.environment, timeout: 20
            )
            let probeElapsed = Date().timeIntervalSince(probeStarted)
            #expect(health.status == 1 && health.stdout.contains("timeout"), "\(health)")
            #expect(probeElapsed < 4, "backend-health --timeout 2 took \(probeElapsed) s")
        }
    }

    @Test("A 200-certificate junk chain is refused as too-complex before any signature is checked")
    func junkChain() async throws {
        try await withGateway { harness, dir in
            var junk = ""
            let issuer = try CustomCertificate("Junk Root", ca: true)
            for index in 0..<200 {
                junk += try CustomCertificate("Junk \(index)", issuer: issuer, ca: true).certificate.pem
            }
            try dir.write("pki/junk.pem", text: junk)
            let (_, port) = try harness.opensslBackend(certificate: "pki/backend-valid.pem", chain: "pki/junk.pem",
                                                       key: "pki/backend-valid.key")
            try Self.start(harness, trust: "trusted-root", backends: [("app", port)])
            let response = try harness.curl("/app/x")
            #expect(response.status == "502" && response.body.contains("too-complex"), "\(response) \(harness.output)")
        }
    }

    @Test("Store file deleted, then replaced: the last list stays enforced, one error, /healthz stale; the new one within 2 s")
    func storeReplaced() async throws {
        try await withGateway { harness, dir in
            let (_, port) = try harness.opensslBackend(certificate: "pki/backend-valid.pem", chain: "pki/backend-valid.pem",
                                                       key: "pki/backend-valid.key")
            try Self.start(harness, trust: "trusted-root", backends: [("app", port)])
            harness.stopGateway()
            // Again with an admin listener, to read /healthz.
            let config = try String(contentsOfFile: dir.file("gateway.yaml"), encoding: .utf8) + "admin: {port: 0}\n"
            try dir.write("gateway.yaml", text: config)
            let process = try BackgroundProcess(try TrustGateBinary.path, ["gateway", "run", "--config", "gateway.yaml"],
                                                currentDirectory: dir.path, environment: harness.environment)
            defer { process.stop() }
            let gatewayPort = try #require(Int(try process.waitFor("listening main on 127\\.0\\.0\\.1:([0-9]+)")))
            let adminPort = try #require(Int(try process.waitFor("admin listening on 127\\.0\\.0\\.1:([0-9]+)")))
            func request() throws -> String {
                try ProcessRunner.run("curl", [
                    "-s", "--max-time", "10", "--cacert", dir.file("pki/root-ca.pem"), "--resolve",
                    "gateway.test:\(gatewayPort):127.0.0.1", "-o", "/dev/null", "-w", "%{http_code}",
                    "https://gateway.test:\(gatewayPort)/app/x",
                ]).stdout
            }
            func healthz() throws -> String {
                try ProcessRunner.run("curl", ["-s", "--max-time", "5", "http://127.0.0.1:\(adminPort)/healthz"]).stdout
            }
            #expect(try request() == "200")
            #expect(try healthz().contains("allow-list: current"))

            // Another valid store, made aside, where the test root is not registered but a pin of another leaf is.
            let other = ["TRUSTGATE_STORE": dir.file("other.sqlite")]
            let made = try TrustGateBinary.run(["allowlist", "add", "--gateway", "g", "pki/backend-wrong-host.pem"],
                                               in: dir.path, environment: other)
            #expect(made.status == 0, "\(made)")

            try FileManager.default.removeItem(atPath: dir.file("store.sqlite"))
            let deadline = Date().addingTimeInterval(3)
            while !(try healthz()).contains("stale since"), Date() < deadline { usleep(100_000) }
            let stale = try healthz()
            #expect(stale.contains("stale since"), "\(stale)")
            #expect(try request() == "200", "the last allow-list read is still enforced")
            usleep(600_000)  // more polls while the file is missing: still one error line
            let errors = process.output.components(separatedBy: "cannot read the allow-list store").count - 1
            #expect(errors == 1, "\(process.output)")

            let replaced = Date()
            try FileManager.default.moveItem(atPath: dir.file("other.sqlite"), toPath: dir.file("store.sqlite"))
            var status = try request()
            while status == "200", Date().timeIntervalSince(replaced) < 2 { status = try request() }
            #expect(status == "502", "the replacement's allow-list within 2 s: \(process.output)")
            let current = try healthz()
            #expect(current.contains("allow-list: current"), "\(current)")
        }
    }

    @Test("--timeout nan, inf, -1 and 1e300 are usage errors (exit 64) for every command that takes one")
    func badTimeouts() async throws {
        try await withTemporaryDirectory { dir in
            try dir.write("gateway.yaml", text: "gateway: g\n")
            let commands: [[String]] = [
                ["allowlist", "check", "--gateway", "g", "--connect", "127.0.0.1:1"],
                ["allowlist", "plan", "--gateway", "g", "--config", "gateway.yaml", "--remove", "x"],
                ["gateway", "backend-health", "--config", "gateway.yaml"],
            ]
            for command in commands {
                for value in ["nan", "inf", "-1", "1e300", "0", "-inf"] {
                    let result = try TrustGateBinary.run(command + ["--timeout", value], in: dir.path,
                                                         environment: ["TRUSTGATE_STORE": dir.file("s.sqlite")])
                    #expect(result.status == 64, "\(command) --timeout \(value): \(result)")
                    #expect(result.stderr.contains("timeout"), "\(command) --timeout \(value): \(result)")
                }
            }
        }
    }

    @Test("An admin listener beyond loopback without a token-file is a configuration error")
    func adminNeedsToken() async throws {
        try await withGateway { harness, dir in
            for (address, accepted) in [("0.0.0.0", false), ("::", false), ("10.0.0.4", false), ("127.0.0.2", true),
                                        ("::1", true), ("localhost", true)] {
                try harness.writeConfiguration(
                    GatewayHarness.onePool(memberPort: 1) + "\nadmin: {address: \"\(address)\", port: 9}"
                )
                let result = try TrustGateBinary.run(["gateway", "check-config", "gateway.yaml"], in: dir.path)
                #expect((result.status == 0) == accepted, "\(address): \(result)")
                if !accepted { #expect(result.stderr.contains("token-file"), "\(address): \(result)") }
            }
        }
    }
}

@Suite("cert and allowlist readers on certificates with extreme fields")
struct HostileFileTests {
    @Test("Version INTEGER max, a 10 KB serial, pathLen 2^63 and BER booleans: exit 65 from every reader, never a trap")
    func everyReader() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TrustGateBinary.run(["cert", "testpki", "pki"], in: dir.path)
            #expect(pki.status == 0)
            let environment = ["TRUSTGATE_STORE": dir.file("store.sqlite")]
            for variant in try HostileCertificates().variants {
                let der = try dir.write("\(variant.name).der", variant.der)
                let pem = try dir.write("\(variant.name).pem", text: variant.pem)
                for file in [der, pem] {
                    let commands: [[String]] = [
                        ["cert", "inspect", file], ["cert", "inspect", file, "--json"], ["cert", "pin", file],
                        ["cert", "lint", file], ["cert", "verify", file, "--roots", "pki/root-ca.pem"],
                        ["cert", "export", file, "--cer", "out.cer"], ["cert", "root", file],
                        ["cert", "convert", file, "--to", "der", "--out", "out.der", "--force"],
                        ["allowlist", "add", "--gateway", "g", file],
                        ["allowlist", "check", "--gateway", "g", "--chain", file],
                    ]
                    for command in commands {
                        let result = try TrustGateBinary.run(command, in: dir.path, environment: environment)
                        #expect(result.status == 65, "\(variant.name) \(command): \(result)")
                        #expect(result.stderr.hasPrefix("trustgate: error:"), "\(variant.name) \(command): \(result)")
                    }
                }
            }
        }
    }
}
