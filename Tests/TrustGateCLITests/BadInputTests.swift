import Foundation
import Testing
import TrustGateTesting

/// Every reading command on every kind of bad input: a clear one-line error, the SPEC's exit code, no output file.
@Suite("Bad input never crashes")
struct BadInputTests {
    static let commands: [[String]] = [
        ["cert", "inspect"], ["cert", "pin"], ["cert", "export", "--cer", "out.cer"], ["cert", "root", "--out", "out.pem"],
    ]

    static let inputs: [(name: String, make: @Sendable (TemporaryDirectory) throws -> String, status: Int32)] = [
        ("empty file", { try $0.write("empty.pem", []) }, 65),
        ("truncated PEM", { dir in
            let pem = try ProcessRunner.run("openssl", ["req", "-x509", "-nodes", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:P-256", "-subj", "/CN=t.test", "-keyout", "/dev/null", "-days", "1"])
            return try dir.write("truncated.pem", Array(pem.standardOutput.prefix(pem.standardOutput.count / 2)))
        }, 65),
        ("random bytes", { dir in
            var generator = SystemRandomNumberGenerator()
            return try dir.write("random.bin", (0..<700).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }, 65),
        ("a directory", { dir in
            try FileManager.default.createDirectory(atPath: dir.file("adir"), withIntermediateDirectories: true)
            return dir.file("adir")
        }, 66),
        ("a missing file", { $0.file("missing.pem") }, 66),
    ]

    @Test("Bad inputs to every reader", arguments: commands, Array(0..<inputs.count))
    func badInput(command: [String], inputIndex: Int) async throws {
        let input = Self.inputs[inputIndex]
        try await withTemporaryDirectory { dir in
            let path = try input.make(dir)
            let result = try TrustGateBinary.run(Array(command.prefix(2)) + [path] + Array(command.dropFirst(2)),
                                                 in: dir.path)
            #expect(result.status == input.status, "\(input.name): \(result)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.first?.hasPrefix("trustgate: error: ") == true, "\(input.name): \(result)")
            #expect(lines.first?.contains("(\(path))") == true, "names the file: \(result)")
            #expect(lines.count <= 2 && lines.dropFirst().allSatisfy { $0.hasPrefix("hint: ") }, "\(result)")
            #expect(!dir.exists("out.cer") && !dir.exists("out.pem"), "no partial output")
            #expect(!result.stderr.contains("Fatal error") && result.status < 128, "no crash")
        }
    }

    @Test("A private key where a certificate is expected is refused with a hint")
    func keyInsteadOfCertificate() async throws {
        try await withTemporaryDirectory { dir in
            let made = try TrustGateBinary.run(["cert", "create", "k.test"], in: dir.path)
            try #require(made.status == 0)
            for command in [["cert", "export", "k.test.key", "--cer", "x.cer"], ["cert", "root", "k.test.key"]] {
                let result = try TrustGateBinary.run(command, in: dir.path)
                #expect(result.status == 65, "\(result)")
                #expect(result.stderr.contains("holds a private key but no certificate"), "\(result)")
                #expect(!dir.exists("x.cer"))
            }
        }
    }

    @Test("A corrupted CA key or CA certificate when signing: 65, nothing written")
    func corruptIssuer() async throws {
        try await withTemporaryDirectory { dir in
            _ = try TrustGateBinary.run(["cert", "create", "CA", "--profile", "root-ca", "--out", "ca"], in: dir.path)
            _ = try TrustGateBinary.run(["cert", "create", "leaf.test", "--out", "notca"], in: dir.path)
            try dir.write("bad.key", text: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
            let badKey = try TrustGateBinary.run(["cert", "create", "x.test", "--profile", "leaf", "--ca-cert", "ca.pem",
                                                  "--ca-key", "bad.key"], in: dir.path)
            #expect(badKey.status == 65, "\(badKey)")
            let notCA = try TrustGateBinary.run(["cert", "create", "x.test", "--profile", "leaf", "--ca-cert",
                                                 "notca.pem", "--ca-key", "notca.key"], in: dir.path)
            #expect(notCA.status == 65, "\(notCA)")
            #expect(notCA.stderr.contains("not a CA certificate"), "\(notCA)")
            let wrongKey = try TrustGateBinary.run(["cert", "create", "x.test", "--profile", "leaf", "--ca-cert",
                                                    "ca.pem", "--ca-key", "notca.key"], in: dir.path)
            #expect(wrongKey.status == 65, "\(wrongKey)")
            #expect(!dir.exists("x.test.pem") && !dir.exists("x.test.key"))
        }
    }
}
