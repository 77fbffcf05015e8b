import Foundation
import Testing
import TrustGateTesting

/// Each trust mode end to end: real backends (gnutls-serv --http, openssl s_server -www), real clients (curl,
/// openssl s_client, gnutls-cli), the allow-list in a real store.
@Suite("gateway run: trust modes")
struct GatewayTrustModeTests {
    typealias Server = GatewayHarness.BackendServer

    /// Starts one backend per `(scenario, server)`, each behind `/<scenario>/`, with the backend settings `trust`;
    /// checks each answer's status and, for a rejection, the category in the body and the log.
    func check(
        trust: String, registerRoot: Bool, register: [String] = [], environment: [String: String] = [:],
        expected: [(scenario: String, server: Server, status: String, category: String?)],
        body: (GatewayHarness) throws -> Void = { _ in }
    ) async throws {
        try await withTemporaryDirectory { dir in
            let harness = try GatewayHarness(in: dir, registerRoot: registerRoot, environment: environment)
            defer { harness.stop() }
            for file in register { try harness.allowlist(["add", "--gateway", "g", file]) }
            let backends = try harness.scenarioBackends(expected.map { ($0.scenario, $0.server) }, settings: "e2e")
            try harness.start("""
                pools:
                \(backends.pools)
                backend-settings:
                  - {name: e2e, host-name: backend.test, trust: \(trust)}
                rules:
                  - {name: r, listener: main, pool: \(expected[0].scenario), settings: e2e, paths: [\(backends.paths)]}
                """)
            for (scenario, server, status, category) in expected {
                let response = try harness.curl("/\(scenario)/x")
                #expect(response.status == status, "\(trust) \(scenario) on \(server): \(response) \(harness.output)")
                if let category {
                    #expect(response.body.contains(category), "\(trust) \(scenario): \(response)")
                    #expect(harness.output.contains("category=\(category)"), "the log names \(category)")
                }
            }
            try body(harness)
        }
    }

    @Test("trusted-root: gnutls-serv and openssl s_server backends; curl, openssl s_client and gnutls-cli clients")
    func trustedRoot() async throws {
        try await check(trust: "trusted-root", registerRoot: true, expected: [
            ("valid", .gnutls, "200", nil), ("wrong-host", .gnutls, "502", "hostname-mismatch"),
            ("untrusted", .openssl, "502", "untrusted-root"), ("expired", .gnutls, "502", "expired"),
        ]) { harness in
            let request = "GET /valid/x HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n"
            let openssl = try ProcessRunner.run("openssl", [
                "s_client", "-quiet", "-connect", "127.0.0.1:\(harness.port)", "-servername", "gateway.test",
                "-CAfile", harness.directory.file("pki/root-ca.pem"), "-verify_return_error", "-verify_hostname",
                "gateway.test",
            ], input: Array(request.utf8), timeout: 20)
            #expect(openssl.stdout.hasPrefix("HTTP/1.1 200"), "\(openssl)")
            // gnutls-cli closes the session at end of input: its input stays open until the answer is in.
            let gnutls = try BackgroundProcess("gnutls-cli", [
                "127.0.0.1", "-p", String(harness.port), "--sni-hostname", "gateway.test", "--verify-hostname",
                "gateway.test", "--x509cafile", harness.directory.file("pki/root-ca.pem"),
            ], keepStandardInputOpen: true)
            defer { gnutls.stop() }
            _ = try gnutls.waitFor("(Handshake was completed)")
            gnutls.send(request)
            #expect((try? gnutls.waitFor("(HTTP/1.1 200)")) != nil, "\(gnutls.output)")
            // A client that does not trust the listener's root is refused by the client, as it should be.
            let wrongRoot = try ProcessRunner.run("gnutls-cli", [
                "127.0.0.1", "-p", String(harness.port), "--sni-hostname", "gateway.test", "--x509cafile",
                harness.directory.file("pki/untrusted-root-ca.pem"),
            ], input: Array(request.utf8), timeout: 20)
            #expect(wrongRoot.status != 0 && !wrongRoot.stdout.contains("HTTP/1.1 200"), "\(wrongRoot)")
        }
    }

    @Test("pinned (Azure v1): the registered leaf answers 200; another leaf, even from the same CA, is not-allowlisted")
    func pinned() async throws {
        try await check(trust: "pinned", registerRoot: false, register: ["pki/backend-valid.pem"], expected: [
            ("valid", .gnutls, "200", nil), ("wrong-host", .openssl, "502", "not-allowlisted"),
            ("untrusted", .gnutls, "502", "not-allowlisted"),
        ])
    }

    @Test("well-known-ca: the system bundle ($SSL_CERT_FILE here: the test root) decides, with the host name check")
    func wellKnownCA() async throws {
        try await check(
            trust: "well-known-ca", registerRoot: false, environment: ["SSL_CERT_FILE": "pki/root-ca.pem"],
            expected: [
                ("valid", .openssl, "200", nil), ("wrong-host", .gnutls, "502", "hostname-mismatch"),
                ("untrusted", .openssl, "502", "not-well-known-ca"),
            ]
        )
    }
}
