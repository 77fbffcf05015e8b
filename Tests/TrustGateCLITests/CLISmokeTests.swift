import Foundation
import Testing
import TrustGateTesting

/// `trustgate` as a user runs it: exit codes, messages, files and modes.
@Suite("trustgate cert create and testpki")
struct CertCreateCommandTests {
    @Test("create writes PREFIX.pem and a 0600 PREFIX.key named after the CN, and openssl reads them")
    func createDefaults() async throws {
        try await withTemporaryDirectory { dir in
            let result = try TrustGateBinary.run(["cert", "create", "backend.test", "--san", "10.0.0.4"], in: dir.path)
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("wrote backend.test.pem"))
            #expect(result.stdout.contains("wrote backend.test.key (private key, mode 0600)"))
            #expect(try dir.mode("backend.test.key") == 0o600)
            #expect(try dir.mode("backend.test.pem") == 0o644)
            let text = try ProcessRunner.run("openssl", ["x509", "-in", dir.file("backend.test.pem"), "-noout", "-ext",
                                                         "subjectAltName"])
            #expect(text.stdout.contains("DNS:backend.test, IP Address:10.0.0.4"), "\(text)")
            #expect(!result.stdout.contains("PRIVATE KEY"), "the key never goes to standard output")
        }
    }

    @Test("A leaf signed by a CA file carries the chain without the root; openssl verifies it")
    func leafFromCA() async throws {
        try await withTemporaryDirectory { dir in
            for arguments in [
                ["cert", "create", "Root", "--profile", "root-ca", "--out", "root", "--key-type", "ec-p384"],
                ["cert", "create", "Intermediate", "--profile", "intermediate-ca", "--ca-cert", "root.pem",
                 "--ca-key", "root.key", "--out", "int"],
                ["cert", "create", "svc.test", "--profile", "leaf", "--ca-cert", "int.pem", "--ca-key", "int.key",
                 "--key-type", "rsa-2048", "--cer", "svc.cer", "--cer-base64", "svc-b64.cer", "--json"],
            ] {
                let result = try TrustGateBinary.run(arguments, in: dir.path)
                try #require(result.status == 0, "\(arguments): \(result)")
            }
            let pem = String(decoding: try dir.read("svc.test.pem"), as: UTF8.self)
            #expect(pem.components(separatedBy: "BEGIN CERTIFICATE").count - 1 == 2, "leaf + intermediate, no root")
            let verify = try ProcessRunner.run("openssl", ["verify", "-CAfile", dir.file("root.pem"), "-untrusted",
                                                           dir.file("svc.test.pem"), dir.file("svc.test.pem")])
            #expect(verify.status == 0, "\(verify)")
            let der = try ProcessRunner.run("openssl", ["x509", "-in", dir.file("svc-b64.cer"), "-outform", "DER"])
            #expect(der.standardOutput == (try dir.read("svc.cer")), "Base64 and DER .cer hold the same certificate")
            #expect(String(decoding: try dir.read("svc-b64.cer"), as: UTF8.self).contains("\r\n"))
        }
    }

    @Test("Existing outputs: 73 without --force, nothing touched; replaced with --force")
    func overwrite() async throws {
        try await withTemporaryDirectory { dir in
            try dir.write("a.test.key", text: "precious")
            let refused = try TrustGateBinary.run(["cert", "create", "a.test"], in: dir.path)
            #expect(refused.status == 73, "\(refused)")
            #expect(refused.stderr.hasPrefix("trustgate: error: refusing to overwrite (a.test.key): the file exists\n"))
            #expect(refused.stderr.contains("hint: pass --force"))
            #expect(!dir.exists("a.test.pem"), "no partial output")
            #expect(try dir.read("a.test.key") == Array("precious".utf8))
            let forced = try TrustGateBinary.run(["cert", "create", "a.test", "--force"], in: dir.path)
            #expect(forced.status == 0, "\(forced)")
            #expect(try dir.mode("a.test.key") == 0o600)
        }
    }

    @Test("Usage errors exit 64 with one error line", arguments: [
        (["cert", "create", "a.test", "--key-type", "rsa-1024"], "rsa-1024"),
        (["cert", "create", "a.test", "--profile", "leaf"], "must be signed by a CA"),
        (["cert", "create", "My Service"], "--san"),
        (["cert", "create", "a.test", "--san", "*.test"], "not a valid DNS name"),
        (["cert", "create", "a.test", "--days", "5", "--not-after", "1d"], "either --days"),
        (["cert", "create", "a.test", "--not-after", "soon"], "neither an RFC 3339 time"),
        (["cert", "create", "a.test", "--ca-cert", "x.pem"], "go together"),
        (["cert", "bogus"], "bogus"),
    ])
    func usageErrors(arguments: [String], message: String) async throws {
        try await withTemporaryDirectory { dir in
            let result = try TrustGateBinary.run(arguments, in: dir.path)
            #expect(result.status == 64, "\(result)")
            #expect(result.stderr.hasPrefix("trustgate: error: "), "\(result)")
            #expect(result.stderr.contains(message), "\(result)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "nothing written")
        }
    }

    @Test("Writing into a missing directory is an I/O error, 74")
    func missingDirectory() async throws {
        try await withTemporaryDirectory { dir in
            let result = try TrustGateBinary.run(["cert", "create", "a.test", "--out", "nowhere/a"], in: dir.path)
            #expect(result.status == 74, "\(result)")
            #expect(result.stderr.contains("(nowhere/a.pem)"))
        }
    }

    @Test("An expired test certificate: a past --not-after is allowed")
    func pastNotAfter() async throws {
        try await withTemporaryDirectory { dir in
            let result = try TrustGateBinary.run(["cert", "create", "old.test", "--not-before", "-400d",
                                                  "--not-after", "-30d"], in: dir.path)
            #expect(result.status == 0, "\(result)")
            let check = try ProcessRunner.run("openssl", ["x509", "-in", dir.file("old.test.pem"), "-noout",
                                                          "-checkend", "0"])
            #expect(check.status == 1, "openssl sees it as expired: \(check)")
        }
    }

    @Test("testpki writes the README'd set; keys 0600; a second run needs --force")
    func testPKI() async throws {
        try await withTemporaryDirectory { dir in
            let result = try TrustGateBinary.run(["cert", "testpki", "pki"], in: dir.path)
            #expect(result.status == 0, "\(result)")
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.file("pki"))
            #expect(files.count == 28)
            for file in files where [".key", ".pfx", ".pass"].contains(where: file.hasSuffix) {
                #expect(try dir.mode("pki/\(file)") == 0o600, "\(file)")
            }
            let readme = String(decoding: try dir.read("pki/README.md"), as: UTF8.self)
            for file in files where file != "README.md" {
                #expect(readme.contains("`\(file)`"), "README lists \(file)")
            }
            let again = try TrustGateBinary.run(["cert", "testpki", "pki"], in: dir.path)
            #expect(again.status == 73)
        }
    }
}
