import Foundation

/// A `trustgate gateway run` for a test, in a temporary directory holding `cert testpki`'s files under `pki/`
/// and a store with the test root registered for gateway `g` (unless told otherwise). Stopped by ``stop()``.
public final class GatewayHarness: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let environment: [String: String]
    public private(set) var process: BackgroundProcess?
    public private(set) var port = 0
    private var backends: [BackgroundProcess] = []

    /// Makes the test PKI and the store; registers `pki/root-ca.pem` with gateway `g` when `registerRoot`.
    public init(in directory: TemporaryDirectory, registerRoot: Bool = true, environment: [String: String] = [:]) throws {
        self.directory = directory
        self.environment = ["TRUSTGATE_STORE": directory.file("store.sqlite")].merging(environment) { $1 }
        let testPKI = try TrustGateBinary.run(["cert", "testpki", "pki"], in: directory.path)
        guard testPKI.status == 0 else { throw ProcessRunner.Failure.failed("trustgate cert testpki: \(testPKI)") }
        if registerRoot { try allowlist(["add", "--gateway", "g", "pki/root-ca.pem"]) }
    }

    /// Runs `trustgate allowlist ARGS` on the harness's store; throws when it fails.
    @discardableResult
    public func allowlist(_ arguments: [String]) throws -> ProcessResult {
        let result = try TrustGateBinary.run(["allowlist"] + arguments, in: directory.path, environment: environment)
        guard result.status == 0 else { throw ProcessRunner.Failure.failed("trustgate allowlist \(arguments): \(result)") }
        return result
    }

    /// Runs `trustgate allowlist ARGS` and waits until the running gateway has loaded the change (its
    /// `allow-list reloaded` log line); throws when that takes more than 5 s (the contract is 1 s).
    public func changeAllowList(_ arguments: [String]) throws {
        let before = output.components(separatedBy: "allow-list reloaded").count
        try allowlist(arguments)
        let deadline = Date().addingTimeInterval(5)
        while output.components(separatedBy: "allow-list reloaded").count == before {
            guard Date() < deadline else {
                throw ProcessRunner.Failure.failed("the gateway did not load allowlist \(arguments) within 5 s: \(output)")
            }
            usleep(10_000)
        }
    }

    /// Writes `gateway.yaml` (a listener `main` on 127.0.0.1, port 0, with the test listener certificate, and
    /// `body` after it) and starts the gateway; returns its port.
    @discardableResult
    public func start(_ body: String, gateway: String = "g") throws -> Int {
        try writeConfiguration(body, gateway: gateway)
        let process = try BackgroundProcess(try TrustGateBinary.path, ["gateway", "run", "--config", "gateway.yaml"],
                                            currentDirectory: directory.path, environment: environment)
        self.process = process
        port = Int(try process.waitFor("listening main on 127\\.0\\.0\\.1:([0-9]+)")) ?? 0
        return port
    }

    /// Issues a leaf for `name` from testpki's intermediate into `pki/PREFIX.pem` (leaf, then the intermediate:
    /// what a server sends) and `pki/PREFIX.key`; `notAfter` as `cert create --not-after` takes it.
    public func issueLeaf(_ name: String, prefix: String, notAfter: String? = nil) throws {
        let created = try TrustGateBinary.run([
            "cert", "create", name, "--san", "DNS:\(name)", "--profile", "leaf", "--ca-cert", "pki/intermediate-ca.pem",
            "--ca-key", "pki/intermediate-ca.key", "--out", "pki/\(prefix)",
        ] + (notAfter.map { ["--not-after", $0] } ?? []), in: directory.path)
        guard created.status == 0 else { throw ProcessRunner.Failure.failed("cert create \(name): \(created)") }
        var pem = try directory.read("pki/\(prefix).pem")
        let intermediate = try directory.read("pki/intermediate-ca.pem")
        if !String(decoding: pem, as: UTF8.self).contains(String(decoding: intermediate, as: UTF8.self)) {
            pem += intermediate
            _ = try directory.write("pki/\(prefix).pem", Array(pem))
        }
    }

    /// Starts the gateway with one pool, `app`, of the member on 127.0.0.1:`memberPort`, reached as
    /// `backend.test` under trusted-root, behind a rule for listener `main`; `settings` goes first (top-level
    /// keys such as `threads: 1`).
    @discardableResult
    public func startOnePool(memberPort: Int, settings: String = "") throws -> Int {
        try start(Self.onePool(memberPort: memberPort, settings: settings))
    }

    /// The configuration ``startOnePool(memberPort:settings:)`` starts with.
    public static func onePool(memberPort: Int, settings: String = "") -> String {
        """
        \(settings)
        pools:
          - {name: app, members: ["127.0.0.1:\(memberPort)"]}
        backend-settings:
          - {name: e2e, host-name: backend.test}
        rules:
          - {name: r, listener: main, pool: app, settings: e2e}
        """
    }

    public func writeConfiguration(_ body: String, gateway: String = "g") throws {
        try directory.write("gateway.yaml", text: """
            gateway: \(gateway)
            listeners:
              - {name: main, address: 127.0.0.1, port: 0, certificate: {pfx: pki/gateway-listener.pfx, password-file: pki/gateway-listener.pass}}
            \(body)

            """)
    }

    /// Everything the gateway printed.
    public var output: String { process?.output ?? "" }

    /// `curl` to `https://gateway.test:PORT/path` (resolved to 127.0.0.1, verified against the test root).
    public func curl(_ path: String, _ extra: [String] = []) throws -> (status: String, body: String) {
        let result = try ProcessRunner.run("curl", [
            "-s", "--max-time", "20", "--cacert", directory.file("pki/root-ca.pem"), "--resolve",
            "gateway.test:\(port):127.0.0.1", "-w", "\n%{http_code}",
        ] + extra + ["https://gateway.test:\(port)\(path)"])
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
    }

    /// An `openssl s_server -www` on a kernel-chosen port serving `pki/backend-SCENARIO.pem`; returns it and
    /// its port.
    public func opensslBackend(_ scenario: String) throws -> (BackgroundProcess, Int) {
        let chain = directory.file("pki/backend-\(scenario).pem")
        let server = try BackgroundProcess("openssl", [
            "s_server", "-accept", "127.0.0.1:0", "-www", "-cert", chain, "-cert_chain", chain,
            "-key", directory.file("pki/backend-\(scenario).key"),
        ])
        return (server, Int(try server.waitFor("ACCEPT 127\\.0\\.0\\.1:([0-9]+)")) ?? 0)
    }

    /// An `openssl s_server -www` presenting `certificate` (PEM, its first certificate is the leaf) followed by
    /// the certificates of `chain`, with the private key `key`: a backend that sends whatever chain a test needs.
    /// `options` go to s_server as they are (`-cipher DEFAULT@SECLEVEL=0` lets it serve an RSA-1024 key).
    public func opensslBackend(certificate: String, chain: String?, key: String, options: [String] = []) throws
        -> (BackgroundProcess, Int)
    {
        let server = try BackgroundProcess("openssl", [
            "s_server", "-accept", "127.0.0.1:0", "-www", "-cert", directory.file(certificate),
            "-key", directory.file(key),
        ] + (chain.map { ["-cert_chain", directory.file($0)] } ?? []) + options)
        backends.append(server)
        return (server, Int(try server.waitFor("ACCEPT 127\\.0\\.0\\.1:([0-9]+)")) ?? 0)
    }

    /// A `gnutls-serv --http` serving `pki/backend-SCENARIO.pem` (it cannot report a kernel-chosen port: a
    /// free one is picked first).
    public func gnutlsBackend(_ scenario: String) throws -> (BackgroundProcess, Int) {
        let port = try freePort()
        let server = try BackgroundProcess("gnutls-serv", [
            "--http", "-p", String(port), "--x509certfile", directory.file("pki/backend-\(scenario).pem"),
            "--x509keyfile", directory.file("pki/backend-\(scenario).key"),
        ])
        _ = try server.waitFor("listening on IPv4")
        return (server, port)
    }

    /// Which TLS server plays a backend.
    public enum BackendServer: Sendable {
        case openssl, gnutls
    }

    /// Starts one backend per scenario (stopped by ``stop()``) and returns the YAML lines for their pools
    /// (named after the scenario) and for the path rules sending `/SCENARIO/*` to them with `settings`.
    public func scenarioBackends(
        _ scenarios: [(scenario: String, server: BackendServer)], settings: String
    ) throws -> (pools: String, paths: String) {
        var pools: [String] = []
        var paths: [String] = []
        for (scenario, server) in scenarios {
            let (backend, port) = server == .gnutls ? try gnutlsBackend(scenario) : try opensslBackend(scenario)
            backends.append(backend)
            pools.append("  - {name: \(scenario), members: [\"127.0.0.1:\(port)\"]}")
            paths.append("{match: \"/\(scenario)/*\", pool: \(scenario), settings: \(settings)}")
        }
        return (pools.joined(separator: "\n"), paths.joined(separator: ", "))
    }

    /// Stops the gateway only: the backends go on, for the next ``start(_:gateway:)``.
    public func stopGateway() {
        process?.stop()
        process = nil
    }

    public func stop() {
        process?.stop()
        for backend in backends { backend.stop() }
    }
}

/// A TCP port free on 127.0.0.1 a moment ago (bound, read, closed).
public func freePort() throws -> Int {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw ProcessRunner.Failure.failed("socket(): errno \(errno)") }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
            bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
        }
    }
    guard bound else { throw ProcessRunner.Failure.failed("no free port on 127.0.0.1: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Runs `body` with a new temporary directory holding a test PKI and a ``GatewayHarness`` on it; stops the gateway
/// and the backends the harness started, and removes the directory, whatever happens.
public func withGateway<Result>(_ body: (GatewayHarness, TemporaryDirectory) async throws -> Result) async throws -> Result {
    try await withTemporaryDirectory { dir in
        let harness = try GatewayHarness(in: dir)
        defer { harness.stop() }
        return try await body(harness, dir)
    }
}
