import Foundation
import Testing
import TrustGateAllowList
import TrustGatePKI
import TrustGateTesting

/// The store under concurrent writers, processes killed mid-write, files that are not stores, and places that
/// cannot be written. Every loop here is bounded in count.
@Suite("Allow-list store reliability")
struct StoreReliabilityTests {
    /// `count` distinct self-signed certificates written as DER .cer files named `prefix-N.cer`.
    static func certificates(_ count: Int, prefix: String, in dir: TemporaryDirectory) throws -> [String] {
        let validity = try ValidityPeriod.days(30)
        return try (0..<count).map { index in
            let issued = try CertificateFactory.issue(
                CertificateRequest(commonName: "\(prefix)-\(index).test", validity: validity)
            )
            return try dir.write("\(prefix)-\(index).cer", issued.certificate.der)
        }
    }

    static func start(_ script: String, arguments: [String], environment: [String: String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        // --wait: setsid forks when the caller leads a process group, so wait for bash, the new session's leader.
        process.arguments = ["--wait", "bash", "-c", script, "bash"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test("8 writer processes × 200 adds on two gateways at once: every add acknowledged and present once, versions contiguous, history complete",
          arguments: StoreKind.allCases)
    func concurrentWriters(kind: StoreKind) async throws {
        try await withTemporaryDirectory { dir in
            let binary = try TrustGateBinary.path
            let files = try Self.certificates(1600, prefix: "c", in: dir)
            let location = try kind.location(in: dir)
            let environment = ["TG": binary, "TRUSTGATE_STORE": location]
            let script = """
                for f in "$@"; do "$TG" allowlist add --gateway "$GATEWAY" "$f" >/dev/null 2>>"$ERRORS" || exit 1; done
                """
            var processes: [Process] = []
            for worker in 0..<8 {
                let slice = Array(files[(worker * 200)..<((worker + 1) * 200)])
                let own = ["ERRORS": dir.file("errors-\(worker)"), "GATEWAY": worker % 2 == 0 ? "east" : "west"]
                processes.append(try Self.start(script, arguments: slice, environment: environment.merging(own) { $1 }))
            }
            let writers = processes
            try await blocking { for process in writers { process.waitUntilExit() } }
            let errors = (0..<8).map { String(decoding: (try? dir.read("errors-\($0)")) ?? [], as: UTF8.self) }.joined()
            #expect(processes.allSatisfy { $0.terminationStatus == 0 }, "a writer failed: \(errors)")
            #expect(!errors.contains("locked"), "no 'database is locked' ever reaches a user")
            let store = try StoreLocation.open(location)
            for gateway in ["east", "west"] {
                let entries = try store.entries(gateway: gateway)
                #expect(entries.count == 800 && Set(entries.map(\.name)).count == 800, "\(gateway): each add present once")
                #expect(try store.version(gateway: gateway) == 800)
                let history = try store.history(gateway: gateway)
                #expect(history.map(\.version) == Array(1...800), "\(gateway): versions contiguous, history complete")
            }
            if let sqlite = store as? SQLiteAllowListStore { #expect(try sqlite.integrityCheck() == "ok") }
        }
    }

    @Test("adds killed with SIGKILL at random moments, 6 times: integrity ok, every acknowledged add present")
    func killedWriters() async throws {
        try await withTemporaryDirectory { dir in
            let binary = try TrustGateBinary.path
            let files = try Self.certificates(240, prefix: "k", in: dir)
            let environment = ["TG": binary, "TRUSTGATE_STORE": dir.file("store.sqlite"), "LOG": dir.file("acknowledged"),
                               "PGID": dir.file("pgid")]
            let script = """
                echo $$ > "$PGID.tmp" && mv "$PGID.tmp" "$PGID"
                for f in "$@"; do
                  "$TG" allowlist add --gateway killed "$f" >/dev/null 2>&1 && echo "$(basename "$f" .cer).test" >> "$LOG"
                done
                """
            var generator = SystemRandomNumberGenerator()
            for round in 0..<6 {
                let process = try Self.start(script, arguments: Array(files[(round * 40)..<((round + 1) * 40)]),
                                             environment: environment)
                usleep(UInt32.random(in: 300_000...1_200_000, using: &generator))
                var group: Int32?
                for _ in 0..<500 where group == nil {
                    group = (try? dir.read("pgid")).flatMap { Int32(String(decoding: $0, as: UTF8.self)
                        .trimmingCharacters(in: .whitespacesAndNewlines)) }
                    if group == nil { usleep(10_000) }
                }
                let leader = try #require(group, "the writer loop started")
                kill(-leader, SIGKILL)
                process.waitUntilExit()
                try FileManager.default.removeItem(atPath: dir.file("pgid"))
            }
            let acknowledged = String(decoding: (try? dir.read("acknowledged")) ?? [], as: UTF8.self)
                .split(separator: "\n").map(String.init)
            let store = try SQLiteAllowListStore(path: dir.file("store.sqlite"))
            #expect(try store.integrityCheck() == "ok")
            let names = Set(try store.entries(gateway: "killed").map(\.name))
            #expect(!acknowledged.isEmpty, "some adds completed before the kills")
            for name in acknowledged { #expect(names.contains(name), "\(name) was acknowledged but is missing") }
        }
    }

    @Test("A store that is not SQLite or is truncated: exit 65, the file unchanged")
    func unreadableStore() async throws {
        try await withTemporaryDirectory { dir in
            let made = try TrustGateBinary.run(["cert", "create", "a.test"], in: dir.path)
            try #require(made.status == 0)
            try dir.write("notes.db", text: "# my notes\n")
            let result = try TrustGateBinary.run(["allowlist", "add", "--gateway", "g", "a.test.pem", "--store",
                                                  "notes.db"], in: dir.path)
            #expect(result.status == 65, "\(result)")
            #expect(result.stderr.contains("not an SQLite database") && result.stderr.contains("(notes.db)"))
            #expect(try dir.read("notes.db") == Array("# my notes\n".utf8))
            let list = try TrustGateBinary.run(["allowlist", "list", "--gateway", "g", "--store", "notes.db"], in: dir.path)
            #expect(list.status == 65)
        }
    }

    @Test("A read-only store directory: exit 74 naming the path")
    func readOnlyDirectory() async throws {
        try await withTemporaryDirectory { dir in
            let made = try TrustGateBinary.run(["cert", "create", "a.test"], in: dir.path)
            try #require(made.status == 0)
            try FileManager.default.createDirectory(atPath: dir.file("locked"), withIntermediateDirectories: true)
            chmod(dir.file("locked"), 0o555)
            defer { chmod(dir.file("locked"), 0o755) }
            chmod(dir.path, 0o755)
            chmod(dir.file("a.test.pem"), 0o644)
            let command = [try TrustGateBinary.path, "allowlist", "add", "--gateway", "g", dir.file("a.test.pem"),
                           "--store", dir.file("locked/store.sqlite")]
            // root ignores directory permissions: drop to nobody for the write.
            let result = getuid() == 0
                ? try ProcessRunner.run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups"] + command)
                : try ProcessRunner.run(command[0], Array(command.dropFirst()))
            #expect(result.status == 74, "\(result)")
            #expect(result.stderr.contains("locked/store.sqlite"), "\(result)")
        }
    }
}
