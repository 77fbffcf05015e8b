import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TrustGatePKI
import X509

/// A throwaway PostgreSQL cluster for tests: `initdb` in a temporary directory, `postgres` on a free port on
/// 127.0.0.1 with TLS (a server certificate for `localhost` only, under a root of its own: a URL naming `127.0.0.1` is the
/// `hostname-mismatch` case) and
/// SCRAM passwords. PostgreSQL refuses to run as root, so as root both run as `nobody` (`setpriv`). The server
/// is stopped by PID (``stop()``), and stops with the test process in any case: a small shell watches the test
/// process and sends the postmaster SIGINT when it is gone. (`setpriv --pdeathsig` would fire when the *thread*
/// that started it exits, which in a test process is any moment.)
///
/// When PostgreSQL cannot be started the error says why: the tests that need it fail, they are not skipped.
public final class TestPostgres: @unchecked Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case notInstalled(String)
        case failed(String)

        public var description: String {
            switch self {
            case .notInstalled(let why): return "PostgreSQL is not installed (\(why)): install Debian's postgresql package"
            case .failed(let why): return "the test PostgreSQL cluster did not start: \(why)"
            }
        }
    }

    public let directory: TemporaryDirectory
    public let port: Int
    /// The root that issued the server's certificate (the `sslrootcert` of a verified URL).
    public let rootFile: String
    /// A root that did not (for the `untrusted-root` case).
    public let otherRootFile: String
    /// The superuser's password, in a file (`password-file=`).
    public let passwordFile: String
    public static let user = "trustgate"

    private let binaries: String
    private let lock = NSLock()
    private var server: BackgroundProcess?
    private var databases = 0

    /// The cluster every test of the process shares (one database each), started on first use.
    public static func shared() throws -> TestPostgres {
        try sharedCluster.get()
    }

    private static let sharedCluster: Result<TestPostgres, any Error> = {
        let result = Result { try TestPostgres() }
        if case .success = result {
            atexit { if case .success(let cluster) = TestPostgres.sharedCluster { cluster.stop() } }
        }
        return result
    }()

    /// Makes and starts a new cluster of its own (for a test that kills and restarts it).
    public init() throws {
        binaries = try Self.locateBinaries()
        directory = try TemporaryDirectory(prefix: "trustgate-pg")
        chmod(directory.path, 0o755)
        let root = try TestIssuance.root("TrustGate Test PostgreSQL Root")
        let other = try TestIssuance.root("Some Other Root")
        let leaf = try CertificateFactory.issue(
            CertificateRequest(
                commonName: "localhost",
                subjectAlternativeNames: [.dnsName("localhost")],
                profile: .leaf, validity: TestIssuance.validity()
            ),
            issuer: root.asAuthority()
        )
        rootFile = try directory.write("root.pem", text: root.certificate.pem)
        otherRootFile = try directory.write("other-root.pem", text: other.certificate.pem)
        let password = "pw-" + UUID().uuidString
        passwordFile = try directory.write("password", text: password + "\n")
        let data = directory.file("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)
        let serverFiles = [
            try directory.write("server.pem", text: leaf.chainPEM),
            try directory.write("server.key", text: try leaf.key.pkcs8PEM()),
            passwordFile,
        ]
        for path in serverFiles { chmod(path, 0o600) }
        port = try freePort()
        try Self.asServerUser([data, directory.path + "/socket"] + serverFiles, in: directory)
        let initdb = try ProcessRunner.run(
            "setpriv",
            Self.prefix + ["\(binaries)/initdb", "-D", data, "-U", Self.user, "--pwfile=\(passwordFile)", "--auth-host=scram-sha-256",
                           "--auth-local=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            currentDirectory: directory.path, timeout: 120
        )
        guard initdb.status == 0 else { throw Failure.failed("initdb: \(initdb)") }
        let hba = "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n"
        try hba.write(toFile: data + "/pg_hba.conf", atomically: false, encoding: .utf8)
        try start()
    }

    /// As root, the files the server reads become `nobody`'s.
    private static func asServerUser(_ paths: [String], in directory: TemporaryDirectory) throws {
        try FileManager.default.createDirectory(atPath: directory.path + "/socket", withIntermediateDirectories: true)
        guard getuid() == 0 else { return }
        guard let user = getpwnam("nobody") else { throw Failure.failed("there is no user nobody to run PostgreSQL as") }
        for path in paths {
            guard chown(path, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else {
                throw Failure.failed("cannot hand \(path) to nobody")
            }
        }
    }

    /// `setpriv` as nobody when root.
    private static var prefix: [String] {
        getuid() == 0 ? ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] : ["--"]
    }

    /// Runs `program ARGS` under a shell that stops it (SIGINT) once the test process is gone, or when the shell
    /// itself is told to stop.
    private static func watchedCommand(_ program: String, _ arguments: [String]) -> (String, [String]) {
        let script = """
            "$0" "$@" & child=$!
            trap 'kill -INT $child 2>/dev/null' TERM INT
            while [ -d /proc/\(getpid()) ] && kill -0 $child 2>/dev/null; do sleep 0.5; done
            kill -INT $child 2>/dev/null
            wait $child
            """
        return ("setpriv", prefix + ["bash", "-c", script, program] + arguments)
    }

    private static func locateBinaries() throws -> String {
        var candidates: [String] = []
        if let found = try? ProcessRunner.locate("pg_ctl") {
            candidates.append(((try? FileManager.default.destinationOfSymbolicLink(atPath: found)).map {
                ($0 as NSString).deletingLastPathComponent
            }) ?? (found as NSString).deletingLastPathComponent)
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.compactMap(Int.init).sorted(by: >).map { "/usr/lib/postgresql/\($0)/bin" }
        guard let directory = candidates.first(where: { FileManager.default.isExecutableFile(atPath: "\($0)/postgres") })
        else { throw Failure.notInstalled("no postgres binary on PATH or under /usr/lib/postgresql") }
        guard ProcessRunner.isInstalled("setpriv") else { throw Failure.notInstalled("setpriv (util-linux) is missing") }
        return directory
    }

    /// Starts the server (again, after ``kill()``), waiting until it accepts connections. After a SIGKILL the old
    /// server's backends may hold its shared memory a moment longer: the start is retried for up to 10 s.
    public func start() throws {
        let deadline = Date().addingTimeInterval(10)
        while true {
            let (command, arguments) = Self.watchedCommand("\(binaries)/postgres", [
                "-D", directory.file("data"), "-p", "\(port)", "-c", "listen_addresses=127.0.0.1",
                "-c", "unix_socket_directories=\(directory.path)/socket", "-c", "ssl=on",
                "-c", "ssl_cert_file=\(directory.file("server.pem"))", "-c", "ssl_key_file=\(directory.file("server.key"))",
                "-c", "fsync=off", "-c", "max_connections=200", "-c", "log_min_messages=warning",
            ])
            let process = try BackgroundProcess(
                command, arguments,
                currentDirectory: directory.path
            )
            if (try? process.waitFor("(ready to accept connections)", timeout: 15)) != nil {
                lock.withLock { server = process }
                return
            }
            let output = process.output
            process.stop()
            guard Date() < deadline else { throw Failure.failed("postgres: \(output)") }
            usleep(200_000)
        }
    }

    /// The postmaster's PID (the first line of `postmaster.pid`).
    public var pid: Int32? {
        guard let text = try? String(contentsOfFile: directory.file("data/postmaster.pid"), encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// SIGKILL to the postmaster, as a crash or an OOM kill would.
    public func kill() {
        guard let server = lock.withLock({ self.server }) else { return }
        if let pid { Glibc.kill(pid, SIGKILL) }
        _ = server.waitForExit(timeout: 10)
        lock.withLock { self.server = nil }
    }

    /// Stops the server by PID (fast shutdown) and removes the cluster's files.
    public func stop() {
        if let server = lock.withLock({ self.server }) {
            if let pid { Glibc.kill(pid, SIGINT) }
            if server.waitForExit(timeout: 10) == nil, let pid { Glibc.kill(pid, SIGKILL) }
            server.stop()
        }
        lock.withLock { server = nil }
        directory.remove()
    }

    /// A new, empty database.
    public func createDatabase() throws -> String {
        let name = lock.withLock {
            databases += 1
            return "t\(getpid())_\(databases)"
        }
        let result = try ProcessRunner.run(
            "\(binaries)/psql",
            ["-h", "\(directory.path)/socket", "-p", "\(port)", "-U", Self.user, "-d", "postgres", "-v", "ON_ERROR_STOP=1",
             "-q", "-c", "CREATE DATABASE \(name)"],
            timeout: 60
        )
        guard result.status == 0 else { throw Failure.failed("CREATE DATABASE: \(result)") }
        return name
    }

    /// `psql -c SQL` on `database` as the superuser, in the background (to hold a lock, say).
    public func psql(database: String, _ sql: String) throws -> BackgroundProcess {
        try BackgroundProcess(
            "\(binaries)/psql",
            ["-h", "\(directory.path)/socket", "-p", "\(port)", "-U", Self.user, "-d", database, "-q", "-c", sql]
        )
    }

    /// A verified store URL for `database` (`verify-full` against the cluster's root, the password from its file).
    public func url(database: String, host: String = "localhost", root: String? = nil, extra: String = "") -> String {
        "postgres://\(Self.user)@\(host):\(port)/\(database)?sslmode=verify-full&sslrootcert=\(root ?? rootFile)"
            + "&password-file=\(passwordFile)" + extra
    }

    /// A new database's URL: what each test of the shared cluster uses.
    public func newStoreURL() throws -> String {
        url(database: try createDatabase())
    }
}
