import Foundation
import Testing
import TrustGatePKI
import TrustGateTesting

/// One trust path: for the same chain, host name and profile, the gateway's upstream handshake,
/// `allowlist check --connect`, `gateway backend-health` and `allowlist plan` give the verdict and category
/// `cert verify --profile P` gives for the chain as a file.
@Suite("One trust path: every command judges a backend as cert verify does")
struct TrustPathAgreementTests {
    /// testpki's scenarios, and two leaves from the test intermediate as older tools issue them, which the strict
    /// profile refuses and the compatible profile accepts: `legacy-cn` (a CN, no SAN, no extendedKeyUsage) and
    /// `legacy-no-eku` (a SAN, no extendedKeyUsage).
    static let scenarios = TestPKI.scenarios.map(\.name) + ["legacy-cn", "legacy-no-eku"]

    static func issueLegacy(_ harness: GatewayHarness, _ name: String, extensions: String) throws {
        let pki = harness.directory.file("pki")
        let key = try ProcessRunner.run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                                                    "-out", "\(pki)/backend-\(name).key"])
        try #require(key.status == 0, "\(key)")
        let csr = try ProcessRunner.run("openssl", ["req", "-new", "-key", "\(pki)/backend-\(name).key", "-subj",
                                                    "/CN=backend.test", "-out", "\(pki)/\(name).csr"])
        try #require(csr.status == 0, "\(csr)")
        try ("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n" + extensions)
            .write(toFile: "\(pki)/\(name).ext", atomically: true, encoding: .utf8)
        let leaf = try ProcessRunner.run("openssl", [
            "x509", "-req", "-in", "\(pki)/\(name).csr", "-CA", "\(pki)/intermediate-ca.pem", "-CAkey",
            "\(pki)/intermediate-ca.key", "-days", "90", "-extfile", "\(pki)/\(name).ext", "-out", "\(pki)/\(name)-leaf.pem",
        ])
        try #require(leaf.status == 0, "\(leaf)")
        let chain = try String(contentsOfFile: "\(pki)/\(name)-leaf.pem", encoding: .utf8)
            + String(contentsOfFile: "\(pki)/intermediate-ca.pem", encoding: .utf8)
        try chain.write(toFile: "\(pki)/backend-\(name).pem", atomically: true, encoding: .utf8)
    }

    static func json(_ result: ProcessResult) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    }

    @Test("The test-PKI matrix and two legacy leaves, under strict and compatible", arguments: ["strict", "compatible"])
    func agreement(profile: String) async throws {
        try await withGateway { harness, dir in
            try Self.issueLegacy(harness, "legacy-cn", extensions: "")
            try Self.issueLegacy(harness, "legacy-no-eku", extensions: "subjectAltName=DNS:backend.test\n")
            let scenarios = Self.scenarios
            var ports: [String: Int] = [:]
            var pools: [String] = []
            var paths: [String] = []
            for scenario in scenarios {
                let (_, port) = try harness.opensslBackend(
                    certificate: "pki/backend-\(scenario).pem", chain: "pki/backend-\(scenario).pem",
                    key: "pki/backend-\(scenario).key",
                    options: scenario == "weak-key" ? ["-cipher", "DEFAULT@SECLEVEL=0"] : [])
                ports[scenario] = port
                pools.append("  - {name: \(scenario), members: [\"127.0.0.1:\(port)\"]}")
                paths.append("{match: \"/\(scenario)/*\", pool: \(scenario), settings: e2e}")
            }
            try harness.start("""
                pools:
                \(pools.joined(separator: "\n"))
                backend-settings:
                  - {name: e2e, host-name: backend.test, trust: trusted-root, verification-profile: \(profile)}
                rules:
                  - {name: r, listener: main, pool: valid, settings: e2e, paths: [\(paths.joined(separator: ", "))]}
                """)

            // What cert verify says of each chain file: the reference.
            var expected: [String: String] = [:]
            for scenario in scenarios {
                let verify = try TrustGateBinary.run([
                    "cert", "verify", "pki/backend-\(scenario).pem", "--roots", "pki/root-ca.pem", "--hostname",
                    "backend.test", "--profile", profile, "--json",
                ], in: dir.path)
                let report = try #require(try Self.json(verify) as? [String: Any], "\(verify)")
                expected[scenario] = try #require(report["reason"] as? String)
            }
            #expect(expected["valid"] == "ok")
            #expect(expected["legacy-cn"] == (profile == "strict" ? "hostname-mismatch" : "ok"), "\(expected)")
            #expect(expected["legacy-no-eku"] == (profile == "strict" ? "profile-violation" : "ok"), "\(expected)")
            #expect(Set(expected.values).count >= 7, "the matrix covers categories, not one answer: \(expected)")

            let health = try TrustGateBinary.run(["gateway", "backend-health", "--config", "gateway.yaml", "--json"],
                                                 in: dir.path, environment: harness.environment)
            let rows = try #require(try Self.json(health) as? [[String: Any]], "\(health)")
            let plan = try TrustGateBinary.run([
                "allowlist", "plan", "--gateway", "g", "--config", "gateway.yaml", "--add", "pki/untrusted-root-ca.pem",
                "--json",
            ], in: dir.path, environment: harness.environment)
            let planRows = try #require((try Self.json(plan) as? [String: Any])?["rows"] as? [[String: Any]], "\(plan)")

            for scenario in scenarios {
                let category = try #require(expected[scenario])
                // The gateway's upstream handshake.
                let response = try harness.curl("/\(scenario)/x")
                if category == "ok" {
                    #expect(response.status == "200", "\(profile) \(scenario): \(response)")
                } else {
                    #expect(response.status == "502" && response.body.contains(category),
                            "\(profile) \(scenario): gateway \(response), cert verify \(category)")
                }
                // allowlist check against the live backend.
                let check = try TrustGateBinary.run([
                    "allowlist", "check", "--gateway", "g", "--connect", "127.0.0.1:\(ports[scenario] ?? 0)",
                    "--hostname", "backend.test", "--mode", "trusted-root", "--profile", profile, "--json",
                ], in: dir.path, environment: harness.environment)
                let checked = (try? Self.json(check) as? [String: Any])?["reason"] as? String
                #expect(checked == category, "\(profile) \(scenario): allowlist check \(check)")
                #expect(check.status == (category == "ok" ? 0 : 1))
                // backend-health and allowlist plan (its judgement before the change).
                let row = rows.first { $0["pool"] as? String == scenario }
                #expect(row?["category"] as? String == category, "\(profile) \(scenario): backend-health \(String(describing: row))")
                let planned = planRows.first { $0["pool"] as? String == scenario }
                #expect(planned?["now"] as? String == category, "\(profile) \(scenario): plan \(String(describing: planned))")
            }
        }
    }
}
