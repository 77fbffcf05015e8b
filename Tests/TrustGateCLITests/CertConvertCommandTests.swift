import Foundation
import Testing
import TrustGateTesting

@Suite("trustgate cert convert and PFX passwords")
struct CertConvertCommandTests {
    /// testpki's files, and `pw` holding the PFX password.
    func withTestPKI(_ body: (TemporaryDirectory) async throws -> Void) async throws {
        try await TrustGateTesting.withTestPKI { dir in
            try dir.write("pw", text: "s3cret\n")
            try await body(dir)
        }
    }

    @Test("PEM → PFX → PEM keeps the chain and key; the key and the PFX are 0600; the password never shows")
    func roundTrip() async throws {
        try await withTestPKI { dir in
            let toPFX = try TrustGateBinary.run(["cert", "convert", "backend-valid.pem", "--key", "backend-valid.key",
                                                 "--to", "pfx", "--out", "b.pfx", "--out-password-file", "pw"],
                                                in: dir.path)
            #expect(toPFX.status == 0, "\(toPFX)")
            #expect(try dir.mode("b.pfx") == 0o600)
            let opened = try ProcessRunner.run("openssl", ["pkcs12", "-in", dir.file("b.pfx"), "-passin", "pass:s3cret",
                                                           "-noout"])
            #expect(opened.status == 0, "the trailing newline of the password file is not part of the password")
            let toPEM = try TrustGateBinary.run(["cert", "convert", "b.pfx", "--to", "pem", "--out", "back.pem",
                                                 "--password-file", "pw"], in: dir.path)
            #expect(toPEM.status == 0, "\(toPEM)")
            #expect(try dir.read("back.pem") == (try dir.read("backend-valid.pem")))
            #expect(try dir.mode("back.key") == 0o600)
            let key = try ProcessRunner.run("openssl", ["pkey", "-in", dir.file("back.key"), "-pubout"])
            let original = try ProcessRunner.run("openssl", ["pkey", "-in", dir.file("backend-valid.key"), "-pubout"])
            #expect(key.stdout == original.stdout && !key.stdout.isEmpty)
            for output in [toPFX, toPEM] {
                #expect(!(output.stdout + output.stderr).contains("s3cret"))
            }
        }
    }

    @Test("Passwords from an environment variable and from standard input")
    func passwordSources() async throws {
        try await withTestPKI { dir in
            let env = try TrustGateBinary.run(["cert", "convert", "backend-valid.pem", "--key", "backend-valid.key",
                                               "--to", "pfx", "--out", "e.pfx", "--out-password-env", "PFX_PW",
                                               "--pfx-profile", "compat"], in: dir.path,
                                              environment: ["PFX_PW": "from-env"])
            #expect(env.status == 0, "\(env)")
            let stdin = try TrustGateBinary.run(["cert", "inspect", "e.pfx", "--password-fd", "-", "--json"],
                                                input: Array("from-env\n".utf8), in: dir.path)
            #expect(stdin.status == 0, "\(stdin)")
            #expect(stdin.stdout.contains("\"windowsServer2016\" : true"))
            let unset = try TrustGateBinary.run(["cert", "inspect", "e.pfx", "--password-env", "NOT_SET_ANYWHERE"],
                                               in: dir.path)
            #expect(unset.status == 64, "\(unset)")
        }
    }

    @Test("Wrong or missing password: 65, the SPEC's message, no output file")
    func wrongPassword() async throws {
        try await withTestPKI { dir in
            try dir.write("wrong", text: "nope")
            let wrong = try TrustGateBinary.run(["cert", "convert", "gateway-listener.pfx", "--to", "pem", "--out",
                                                 "x.pem", "--password-file", "wrong"], in: dir.path)
            #expect(wrong.status == 65, "\(wrong)")
            #expect(wrong.stderr.contains("wrong password or corrupted file (MAC verification failed)"))
            #expect(!dir.exists("x.pem") && !dir.exists("x.key"))
            let missing = try TrustGateBinary.run(["cert", "inspect", "gateway-listener.pfx"], in: dir.path)
            #expect(missing.status == 65, "\(missing)")
            #expect(missing.stderr.contains("hint: pass --password-file"))
            let right = try TrustGateBinary.run(["cert", "inspect", "gateway-listener.pfx", "--password-file",
                                                 "gateway-listener.pass"], in: dir.path)
            #expect(right.status == 0, "\(right)")
            #expect(right.stdout.contains("with private key"))
        }
    }

    @Test("A new PFX without a password source and no terminal is a usage error")
    func noOutputPassword() async throws {
        try await withTestPKI { dir in
            let result = try TrustGateBinary.run(["cert", "convert", "backend-valid.pem", "--to", "pfx", "--out",
                                                  "n.pfx"], in: dir.path)
            #expect(result.status == 64, "\(result)")
            #expect(!dir.exists("n.pfx"))
        }
    }

    @Test("PFX → PFX changes the profile; legacy opens only with openssl -legacy")
    func reprofile() async throws {
        try await withTestPKI { dir in
            let result = try TrustGateBinary.run(["cert", "convert", "gateway-listener.pfx", "--to", "pfx", "--out",
                                                  "l.pfx", "--password-file", "gateway-listener.pass",
                                                  "--out-password-file", "pw", "--pfx-profile", "legacy"],
                                                 in: dir.path)
            #expect(result.status == 0, "\(result)")
            let inspect = try TrustGateBinary.run(["cert", "inspect", "l.pfx", "--password-file", "pw", "--json"],
                                                  in: dir.path)
            #expect(inspect.stdout.contains("\"cipher\" : \"RC2-40\""), "\(inspect)")
            #expect(inspect.stdout.contains("\"openssl3\" : false"))
            let plain = try ProcessRunner.run("openssl", ["pkcs12", "-in", dir.file("l.pfx"), "-passin", "pass:s3cret",
                                                          "-nodes"])
            #expect(plain.status != 0)
            let legacy = try ProcessRunner.run("openssl", ["pkcs12", "-legacy", "-in", dir.file("l.pfx"), "-passin",
                                                           "pass:s3cret", "-nodes"])
            #expect(legacy.status == 0, "\(legacy)")
        }
    }

    @Test("PFX to .cer (DER and Base64) and to its root; export and pin read PFX too")
    func pfxToPublicForms() async throws {
        try await withTestPKI { dir in
            let listener = ["--password-file", "gateway-listener.pass"]
            let der = try TrustGateBinary.run(["cert", "convert", "gateway-listener.pfx", "--to", "cer", "--out",
                                               "l.cer"] + listener, in: dir.path)
            #expect(der.status == 0, "\(der)")
            let b64 = try TrustGateBinary.run(["cert", "convert", "gateway-listener.pfx", "--to", "cer-base64",
                                               "--out", "l64.cer"] + listener, in: dir.path)
            #expect(b64.status == 0)
            let fromPEM = try ProcessRunner.run("openssl", ["x509", "-in", dir.file("gateway-listener.pem"),
                                                            "-outform", "DER"])
            #expect(try dir.read("l.cer") == fromPEM.standardOutput)
            let root = try TrustGateBinary.run(["cert", "root", "gateway-listener.pfx"] + listener, in: dir.path)
            #expect(root.status == 1, "the listener PFX holds leaf and intermediate, not the root: \(root)")
            let pin = try TrustGateBinary.run(["cert", "pin", "gateway-listener.pfx"] + listener, in: dir.path)
            #expect(pin.status == 0 && pin.stdout.contains("gateway.test (leaf)"))
        }
    }

    @Test("create --pfx writes a PFX; --ca-pfx signs with a CA from a PFX; a key-only or cert-only PFX is refused where a key or certificate is needed")
    func createWithPFX() async throws {
        try await withTestPKI { dir in
            let ca = try TrustGateBinary.run(["cert", "create", "PFX CA", "--profile", "root-ca", "--out", "ca",
                                              "--pfx", "ca.pfx", "--out-password-file", "pw"], in: dir.path)
            #expect(ca.status == 0, "\(ca)")
            let leaf = try TrustGateBinary.run(["cert", "create", "svc.test", "--profile", "leaf", "--ca-pfx", "ca.pfx",
                                                "--password-file", "pw"], in: dir.path)
            #expect(leaf.status == 0, "\(leaf)")
            let verify = try ProcessRunner.run("openssl", ["verify", "-CAfile", dir.file("ca.pem"),
                                                           dir.file("svc.test.pem")])
            #expect(verify.status == 0, "\(verify)")

            let certOnly = try ProcessRunner.run("openssl", ["pkcs12", "-export", "-nokeys", "-in", dir.file("ca.pem"),
                                                             "-passout", "pass:s3cret", "-out", dir.file("co.pfx")])
            try #require(certOnly.status == 0)
            let noKey = try TrustGateBinary.run(["cert", "create", "x.test", "--profile", "leaf", "--ca-pfx", "co.pfx",
                                                 "--password-file", "pw"], in: dir.path)
            #expect(noKey.status == 65 && noKey.stderr.contains("holds no private key"), "\(noKey)")
            let keyOnly = try ProcessRunner.run("openssl", ["pkcs12", "-export", "-nocerts", "-inkey", dir.file("ca.key"),
                                                            "-passout", "pass:s3cret", "-out", dir.file("ko.pfx")])
            try #require(keyOnly.status == 0)
            let noCert = try TrustGateBinary.run(["cert", "convert", "ko.pfx", "--to", "pem", "--out", "ko.pem",
                                                  "--password-file", "pw"], in: dir.path)
            #expect(noCert.status == 65 && noCert.stderr.contains("no certificate"), "\(noCert)")
            #expect(!dir.exists("ko.pem") && !dir.exists("x.test.pem"))
        }
    }
}

@Suite("Broken PFX files on the command line")
struct BrokenPFXCommandTests {
    @Test("Wrong password, truncated, flipped MAC byte, key-only and not-a-PFX: exit 65, one clear line, no output")
    func brokenFiles() async throws {
        try await withTemporaryDirectory { dir in
            let made = try TrustGateBinary.run(["cert", "testpki", "."], in: dir.path)
            try #require(made.status == 0)
            let pfx = try dir.read("gateway-listener.pfx")
            try dir.write("truncated.pfx", Array(pfx.prefix(pfx.count / 2)))
            var flipped = pfx
            flipped[pfx.count - 30] ^= 0x01
            try dir.write("flipped.pfx", flipped)
            try dir.write("not.pfx", [0x30, 0x82, 0x01, 0x00] + [UInt8](repeating: 0x41, count: 256))
            try dir.write("wrong.pass", text: "not-the-password\n")
            let keyOnly = try ProcessRunner.run("openssl", ["pkcs12", "-export", "-nocerts", "-inkey",
                dir.file("gateway-listener.key"), "-passout", "file:" + dir.file("gateway-listener.pass"),
                "-out", dir.file("key-only.pfx")])
            try #require(keyOnly.status == 0, "\(keyOnly)")
            let cases: [(file: String, password: String, message: String)] = [
                ("gateway-listener.pfx", "wrong.pass", "wrong password or corrupted file (MAC verification failed)"),
                ("truncated.pfx", "gateway-listener.pass", "truncated"),
                ("flipped.pfx", "gateway-listener.pass", "MAC verification failed"),
                ("key-only.pfx", "gateway-listener.pass", "holds a private key but no certificate"),
                ("not.pfx", "gateway-listener.pass", "not"),
            ]
            for entry in cases {
                let result = try TrustGateBinary.run(["cert", "convert", entry.file, "--to", "pem", "--out", "out.pem",
                                                      "--password-file", entry.password], in: dir.path)
                #expect(result.status == 65, "\(entry.file): \(result)")
                #expect(result.stderr.hasPrefix("trustgate: error: ") && result.stderr.contains(entry.message),
                        "\(entry.file): \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count <= 2)
                #expect(!dir.exists("out.pem") && !dir.exists("out.key"), "\(entry.file): no output")
            }
        }
    }
}
