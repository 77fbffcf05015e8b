import Foundation
import Logging
import TrustGateAllowList
import TrustGatePKI

/// `trustgate demo`: the whole product in one minute, in a temporary directory it removes afterwards.
public enum GatewayDemo {
    /// Runs the demo, telling each step through `say`. Returns whether both outcomes were the expected ones
    /// (200 through an allowed backend, 502 naming the reason after the swap).
    public static func run(say: @Sendable (String) -> Void) async throws -> Bool {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trustgate-demo-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

        say("1. Creating a test PKI in \(directory.path): a root CA, an intermediate, backend certificates for backend.test, a listener certificate for gateway.test")
        let pki = try TestPKI()
        for file in pki.files {
            try Data(file.contents).write(to: URL(fileURLWithPath: path(file.name)))
        }
        guard let valid = pki.backends["valid"], let untrusted = pki.backends["untrusted"] else { return false }

        let backend = try await EchoBackend.start(certificates: [valid.certificate] + valid.chain, key: valid.key)
        say("2. Started a test backend on 127.0.0.1:\(backend.port), presenting backend.test's valid certificate (leaf + intermediate)")

        let store = try SQLiteAllowListStore(path: path("store.sqlite"))
        let rootEntry = try EntryRegistration(gateway: "demo")
            .entry(from: CertificateBundle(format: .pem, certificates: [pki.root.certificate], privateKeys: []),
                   file: "root-ca.pem", actor: "demo")
        try store.add(rootEntry)
        say("3. Registered root-ca.pem with gateway 'demo' as a trusted root (like Azure v2's trusted root certificate)")

        let configuration = GatewayConfiguration(
            gateway: "demo", store: path("store.sqlite"),
            listeners: [.init(name: "public", address: "127.0.0.1", port: 0, scheme: .https,
                              certificate: .pfx(path: path("gateway-listener.pfx"), passwordFile: path("gateway-listener.pass")),
                              hostNames: [], tls: .default)],
            pools: [.init(name: "app", members: [.init(host: "127.0.0.1", port: backend.port)])],
            backendSettings: [.init(name: "e2e", scheme: .https, port: nil, hostName: TestPKI.backendHost,
                                    pickHostNameFromMember: false, trust: .trustedRoot, requestTimeout: 10, connectTimeout: 5)],
            rules: [.init(name: "main", listener: "public", pool: "app", settings: "e2e", paths: [])]
        )
        var logger = Logger(label: "trustgate.demo")
        logger.logLevel = .critical
        let server = try await GatewayServer.start(configuration: configuration, store: store, logger: logger, threads: 1)
        let port = server.listeners.first?.port ?? 0
        say("4. Started the gateway on https://gateway.test:\(port) (127.0.0.1): it re-encrypts to the backend, expects the name backend.test, and trusts only the registered root")

        let first = try await DemoClient.get(host: "127.0.0.1", port: port, serverName: TestPKI.listenerHost, path: "/hello",
                                             root: pki.root.certificate)
        say("5. GET /hello through the gateway → \(first.status)\(first.status == 200 ? " OK" : "")")
        for line in first.body.split(separator: "\n")
        where line.hasPrefix("x-forwarded") || line.hasPrefix("x-original") || line.hasPrefix("host:") {
            say("     the backend saw  \(line)")
        }

        try backend.swap(certificates: [untrusted.certificate, pki.untrustedRoot.certificate], key: untrusted.key)
        say("6. Swapped the backend to a certificate for backend.test from a root that is NOT registered")

        let second = try await DemoClient.get(host: "127.0.0.1", port: port, serverName: TestPKI.listenerHost, path: "/hello",
                                              root: pki.root.certificate)
        let reason = second.headers.first { $0.0.lowercased() == "x-trustgate-reason" }?.1 ?? "?"
        say("7. GET /hello again → \(second.status) (\(second.body.trimmingCharacters(in: .whitespacesAndNewlines))); reason category: \(reason)")

        await server.shutdown()
        await backend.stop()
        say("8. Stopped the gateway and the backend; removed \(directory.path)")
        return first.status == 200 && second.status == 502 && reason == ReasonCategory.untrustedRoot.rawValue
    }
}
