import Foundation
import Testing
import TrustGateGateway
import TrustGatePKI
import TrustGateTesting

@Suite("gateway backend-health and allowlist plan: probes on the gateway's own upstream path")
struct BackendHealthTests {
    /// Four pools: `ok` (testpki's valid backend), `soon` (a valid certificate that expires in 5 days), `wrong`
    /// (testpki's wrong-host backend) and `orphan` (no rule routes to it).
    private func backends(_ harness: GatewayHarness) async throws -> [EchoBackend] {
        try harness.issueLeaf("backend.test", prefix: "backend-soon", notAfter: "5d")
        var started: [EchoBackend] = []
        for scenario in ["valid", "soon", "wrong-host"] { started.append(try await echoBackend(harness, scenario)) }
        try harness.writeConfiguration("""
            pools:
              - {name: ok, members: ["127.0.0.1:\(started[0].port)"]}
              - {name: soon, members: ["127.0.0.1:\(started[1].port)"]}
              - {name: wrong, members: ["127.0.0.1:\(started[2].port)"]}
              - {name: orphan, members: ["127.0.0.1:9"]}
            backend-settings:
              - {name: e2e, host-name: backend.test, trust: trusted-root}
            rules:
              - {name: r, listener: main, pool: ok, settings: e2e, paths: [{match: "/soon/*", pool: soon, settings: e2e}, {match: "/wrong/*", pool: wrong, settings: e2e}]}
            """)
        return started
    }

    @Test("Healthy, a 5-day expiry warning, hostname-mismatch with the presented SANs and the expected name, Unknown; JSON parses")
    func backendHealth() async throws {
        try await withGateway { harness, dir in
            let started = try await backends(harness)
            let text = try TrustGateBinary.run(["gateway", "backend-health", "--config", "gateway.yaml"], in: dir.path,
                                               environment: harness.environment)
            #expect(text.status == 1, "an unhealthy backend makes it 1: \(text)")
            let lines = text.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("POOL") == true, "\(text.stdout)")
            #expect(lines.contains { $0.hasPrefix("ok ") && $0.contains("Healthy") && $0.contains("HTTP 200") }, "\(text.stdout)")
            #expect(lines.contains { $0.hasPrefix("wrong ") && $0.contains("Unhealthy") && $0.contains("hostname-mismatch") },
                    "\(text.stdout)")
            #expect(lines.contains { $0.contains("presented: CN=") && $0.contains("SANs DNS:") }, "\(text.stdout)")
            #expect(lines.contains("    expected name: backend.test"), "\(text.stdout)")
            #expect(lines.contains { $0.hasPrefix("orphan ") && $0.contains("Unknown") }, "\(text.stdout)")
            #expect(lines.contains { $0.hasPrefix("WARNING soon ") && $0.contains("expires in 4 days") }, "\(text.stdout)")
            #expect(!lines.contains { $0.hasPrefix("WARNING ok ") }, "testpki's valid certificate is good for long")

            let json = try TrustGateBinary.run(["gateway", "backend-health", "--config", "gateway.yaml", "--json",
                                                "--warn-days", "3"], in: dir.path, environment: harness.environment)
            #expect(json.status == 1)
            let report = try JSONDecoder().decode([BackendHealth].self, from: Data(json.stdout.utf8))
            let byPool = Dictionary(grouping: report, by: \.pool)
            let ok = try #require(byPool["ok"]?.first)
            #expect(ok.state == .healthy && ok.category == .ok && ok.httpStatus == 200 && ok.presented.count == 2)
            let soon = try #require(byPool["soon"]?.first)
            #expect(soon.state == .healthy && soon.daysUntilExpiry == 4 && !soon.expiryWarning, "threshold 3 days: \(soon)")
            let wrong = try #require(byPool["wrong"]?.first)
            #expect(wrong.state == .unhealthy && wrong.category == .verdict(.hostnameMismatch) && wrong.expectedName == "backend.test")
            #expect(wrong.presented.first?.subjectAltNames.isEmpty == false && wrong.httpStatus == nil)
            #expect(byPool["orphan"]?.first?.state == .unknown)
            for backend in started { await backend.stop() }
        }
    }

    @Test("Stopped backend: unreachable; bad options are 64")
    func unreachableAndUsage() async throws {
        try await withGateway { harness, dir in
            try harness.writeConfiguration(GatewayHarness.onePool(memberPort: try freePort()))
            let result = try TrustGateBinary.run(["gateway", "backend-health", "--config", "gateway.yaml"], in: dir.path,
                                                 environment: harness.environment)
            #expect(result.status == 1 && result.stdout.contains("unreachable"), "\(result)")
            for bad in [["--warn-days", "-1"], ["--timeout", "0"], ["--path", "no-slash"]] {
                let refused = try TrustGateBinary.run(["gateway", "backend-health", "--config", "gateway.yaml"] + bad,
                                                      in: dir.path, environment: harness.environment)
                #expect(refused.status == 64, "\(bad): \(refused)")
            }
        }
    }

    @Test("allowlist plan: removing the root the backends chain to breaks them (exit 1, store unchanged); a harmless add applies")
    func plan() async throws {
        try await withGateway { harness, dir in
            let started = try await backends(harness)
            func run(_ arguments: [String]) throws -> ProcessResult {
                try TrustGateBinary.run(["allowlist", "plan", "--gateway", "g", "--config", "gateway.yaml"] + arguments,
                                        in: dir.path, environment: harness.environment)
            }
            let before = try harness.allowlist(["list", "--gateway", "g", "--json"]).stdout
            let remove = try run(["--remove", "TrustGate Test Root CA", "--apply"])
            #expect(remove.status == 1, "\(remove)")
            #expect(remove.stdout.contains("breaks     ok 127.0.0.1:\(started[0].port) (backend.test): ok -> "), "\(remove.stdout)")
            #expect(remove.stdout.contains("breaks     soon "), "\(remove.stdout)")
            #expect(remove.stdout.contains("unchanged  wrong "), "already rejected: \(remove.stdout)")
            #expect(remove.stdout.contains("not-judged orphan "), "\(remove.stdout)")
            #expect(remove.stdout.contains("2 backends would be turned away; nothing written"), "\(remove.stdout)")
            #expect(try harness.allowlist(["list", "--gateway", "g", "--json"]).stdout == before, "the store is unchanged")

            let json = try run(["--remove", "TrustGate Test Root CA", "--json"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(object["breaks"] as? Int == 2 && object["applied"] as? Bool == false, "\(json.stdout)")

            // Pinning the valid backend's own certificate breaks nothing: applied.
            let add = try run(["--add", "pki/backend-valid.pem", "--as", "pinned", "--apply"])
            #expect(add.status == 0 && add.stdout.contains("no backend breaks; applied"), "\(add)")
            #expect(try harness.allowlist(["list", "--gateway", "g"]).stdout.contains("backend.test"))
            let unknown = try run(["--remove", "no-such-entry"])
            #expect(unknown.status == 1 && unknown.stderr.contains("no entry named"), "\(unknown)")
            let otherGateway = try TrustGateBinary.run(
                ["allowlist", "plan", "--gateway", "other", "--config", "gateway.yaml", "--remove", "x"],
                in: dir.path, environment: harness.environment)
            #expect(otherGateway.status == 64, "\(otherGateway)")
            // A routed backend that is down presents nothing: it is not judged, and the summary says so.
            await started[0].stop()
            let partial = try run(["--remove", "backend.test"])
            #expect(partial.status == 0, "\(partial)")
            #expect(partial.stdout.contains("no backend breaks (1 not judged: they presented no certificate); nothing written"),
                    "\(partial.stdout)")
            for backend in started.dropFirst() { await backend.stop() }
        }
    }
}

@Suite("gateway run: admin listener (/healthz, /metrics, /backend-health) and access log")
struct GatewayAdminTests {
    /// Prometheus text exposition: `name{label="value",...} number` per sample, `#` lines skipped.
    static func samples(_ text: String) -> [(name: String, labels: [String: String], value: Double)] {
        text.split(separator: "\n").compactMap { line -> (String, [String: String], Double)? in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...])
            else { return nil }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return (String(series), [:], value) }
            var labels: [String: String] = [:]
            for pair in series[series.index(after: brace)..<(series.lastIndex(of: "}") ?? series.endIndex)].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { labels[String(parts[0])] = String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            }
            return (String(series[..<brace]), labels, value)
        }
    }

    @Test("Metrics are scraped and parsed; /healthz; /backend-health JSON; the bearer token; one access-log line per request")
    func adminAndAccessLog() async throws {
        try await withGateway { harness, dir in
            let valid = try await echoBackend(harness, "valid")
            let wrong = try await echoBackend(harness, "wrong-host")
            _ = try dir.write("admin.token", text: "s3cret-token\n")
            try harness.start("""
                admin: {port: 0, token-file: admin.token}
                access-log: access.log
                pools:
                  - {name: app, members: ["127.0.0.1:\(valid.port)"]}
                  - {name: wrong, members: ["127.0.0.1:\(wrong.port)"]}
                backend-settings:
                  - {name: e2e, host-name: backend.test}
                rules:
                  - {name: r, listener: main, pool: app, settings: e2e, paths: [{match: "/wrong/*", pool: wrong, settings: e2e}]}
                """)
            let process = try #require(harness.process)
            let adminPort = try #require(Int(try process.waitFor("admin listening on 127\\.0\\.0\\.1:([0-9]+)")))
            for index in 0..<3 { #expect(try harness.curl("/ok/\(index)").status == "200") }
            #expect(try harness.curl("/wrong/x").status == "502")

            func admin(_ path: String, token: Bool = true) throws -> (status: String, body: String) {
                let result = try ProcessRunner.run("curl", ["-s", "--max-time", "30", "-w", "\n%{http_code}"]
                    + (token ? ["-H", "Authorization: Bearer s3cret-token"] : []) + ["http://127.0.0.1:\(adminPort)\(path)"])
                let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
                return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
            }
            #expect(try admin("/healthz", token: false).status == "401")
            #expect(try admin("/metrics", token: false).status == "401")
            let healthz = try admin("/healthz")
            #expect(healthz.status == "200" && healthz.body.hasPrefix("ok\nallow-list: current, version "), "\(healthz)")
            let metrics = try admin("/metrics")
            #expect(metrics.status == "200")
            let samples = Self.samples(metrics.body)
            func value(_ name: String, _ labels: [String: String]) -> Double? {
                samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?.value
            }
            #expect(value("trustgate_requests_total", ["pool": "app", "status": "200"]) == 3, "\(metrics.body)")
            #expect(value("trustgate_requests_total", ["pool": "wrong", "status": "502"]) == 1, "\(metrics.body)")
            #expect(value("trustgate_upstream_handshakes_total", ["pool": "wrong", "category": "hostname-mismatch"]) == 1)
            #expect((value("trustgate_upstream_handshakes_total", ["pool": "app", "category": "ok"]) ?? 0) >= 1)
            #expect(value("trustgate_request_duration_seconds_count", ["pool": "app"]) == 3, "\(metrics.body)")
            let notAfter = try #require(value("trustgate_backend_certificate_not_after_seconds", ["pool": "app"]))
            #expect(notAfter > Date().timeIntervalSince1970 + 86_400 * 300, "testpki's valid leaf is good for a year")
            #expect(value("trustgate_open_connections", [:]) != nil)

            let health = try admin("/backend-health")
            #expect(health.status == "200")
            let report = try JSONDecoder().decode([BackendHealth].self, from: Data(health.body.utf8))
            #expect(report.map(\.state) == [.healthy, .unhealthy] && report.last?.category == .verdict(.hostnameMismatch), "\(health.body)")
            #expect(try admin("/nope").status == "404")

            // One line per request, in order; the rejected one names its pool and has no upstream answer.
            var lines: [Substring] = []
            for _ in 0..<100 {
                lines = (try? String(contentsOfFile: dir.file("access.log"), encoding: .utf8))?.split(separator: "\n") ?? []
                if lines.count >= 4 { break }
                usleep(20_000)
            }
            #expect(lines.count == 4, "\(lines)")
            #expect(lines.first?.contains(" client=127.0.0.1 host=gateway.test:\(harness.port) method=GET path=/ok/0 status=200 pool=app member=127.0.0.1:\(valid.port) upstream_ms=") == true, "\(lines)")
            #expect(lines.last?.contains("path=/wrong/x status=502 pool=wrong") == true && lines.last?.contains("upstream_ms=- ") == true, "\(lines)")
            #expect(lines.first?.hasPrefix("time=20") == true && lines.first?.contains(" bytes=0") == false, "\(lines)")
            await valid.stop()
            await wrong.stop()
        }
    }
}
