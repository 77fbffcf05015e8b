import Foundation
import Testing
import TrustGatePKI
import TrustGateTesting

@Suite("trustgate cert verify and lint")
struct CertVerifyCommandTests {
    @Test("A --roots bundle with a root that is not strict DER: that root is skipped with a warning, never trusted")
    func rootsBundleSkipsUnreadable() async throws {
        try await withTestPKI { dir in
            let hostile = try #require(try HostileCertificates()["ber-boolean"])
            let root = try String(contentsOfFile: dir.file("root-ca.pem"), encoding: .utf8)
            try dir.write("bundle.pem", text: hostile.pem + root)
            let result = try TrustGateBinary.run(["cert", "verify", "backend-valid.pem", "--roots", "bundle.pem",
                                                  "--hostname", "backend.test"], in: dir.path)
            #expect(result.status == 0, "\(result)")
            #expect(result.stderr.contains("trustgate: warning: --roots bundle.pem: skipped certificate 1"), "\(result)")
            // Inspected, the bundle shows the root it can read, and exits 65 naming the block it cannot.
            let inspect = try TrustGateBinary.run(["cert", "inspect", "bundle.pem"], in: dir.path)
            #expect(inspect.status == 65 && inspect.stderr.contains("block 1 (CERTIFICATE)"), "\(inspect)")
            #expect(inspect.stdout.contains("1 certificate") && inspect.stdout.contains("unreadable certificate (block 1)"),
                    "\(inspect)")
        }
    }

    @Test("Every test-PKI backend: our verdict and category, and openssl and certtool agree on accept/reject")
    func matrixAgreesWithPeers() async throws {
        try await withTestPKI { dir in
            for scenario in TestPKI.scenarios {
                let file = "backend-\(scenario.name).pem"
                let ours = try TrustGateBinary.run(["cert", "verify", file, "--roots", "root-ca.pem", "--hostname",
                                                    "backend.test", "--json"], in: dir.path)
                #expect(ours.status == (scenario.category == .ok ? 0 : 1), "\(file): \(ours)")
                let json = try JSONSerialization.jsonObject(with: Data(ours.standardOutput)) as? [String: Any]
                #expect(json?["reason"] as? String == scenario.category.rawValue, "\(file): \(ours.stdout)")
                // Peers at the 2048-bit security level (openssl -auth_level 2, certtool medium profile), given only
                // what the backend sends: no test-PKI case differs from them.
                let openssl = try ProcessRunner.run("openssl", [
                    "verify", "-auth_level", "2", "-CAfile", dir.file("root-ca.pem"), "-verify_hostname", "backend.test",
                    "-untrusted", dir.file(file), dir.file(file),
                ])
                #expect((openssl.status == 0) == (scenario.category == .ok), "openssl on \(file): \(openssl)")
                let certtool = try ProcessRunner.run("certtool", [
                    "--verify", "--verify-profile", "medium", "--load-ca-certificate", dir.file("root-ca.pem"),
                    "--infile", dir.file(file), "--verify-hostname", "backend.test",
                ])
                let chainLine = certtool.stdout.split(separator: "\n").first { $0.contains("Chain verification output") }
                let trusted = chainLine?.contains("Verified. The certificate is trusted.") == true
                    && chainLine?.contains("Not verified") == false
                #expect(trusted == (scenario.category == .ok), "certtool on \(file): \(certtool)")
            }
        }
    }

    @Test("Text output names the category and the certificate; malformed input is 65; --at moves time")
    func textAndErrors() async throws {
        try await withTestPKI { dir in
            let expired = try TrustGateBinary.run(["cert", "verify", "backend-expired.pem", "--roots", "root-ca.pem",
                                                   "--hostname", "backend.test"], in: dir.path)
            #expect(expired.status == 1)
            #expect(expired.stdout.contains("rejected: expired") && expired.stdout.contains("CN=backend.test expired at"))
            let past = try TrustGateBinary.run(["cert", "verify", "backend-expired.pem", "--roots", "root-ca.pem",
                                                "--hostname", "backend.test", "--at",
                                                RFC3339.format(Date().addingTimeInterval(-60 * 86400))], in: dir.path)
            #expect(past.status == 0, "valid 60 days ago: \(past)")
            try dir.write("junk.pem", text: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            let junk = try TrustGateBinary.run(["cert", "verify", "junk.pem", "--roots", "root-ca.pem"], in: dir.path)
            #expect(junk.status == 65, "\(junk)")
            let both = try TrustGateBinary.run(["cert", "verify", "backend-valid.pem", "--hostname", "a", "--ip",
                                                "10.0.0.1"], in: dir.path)
            #expect(both.status == 64)
        }
    }

    @Test("lint: errors exit 1 with check names; a clean chain exits 0")
    func lint() async throws {
        try await withTestPKI { dir in
            let clean = try TrustGateBinary.run(["cert", "lint", "backend-valid.fullchain.pem", "--hostname",
                                                 "backend.test"], in: dir.path)
            #expect(clean.status == 0, "\(clean)")
            let weak = try TrustGateBinary.run(["cert", "lint", "backend-weak-key.pem", "--json"], in: dir.path)
            #expect(weak.status == 1 && weak.stdout.contains("\"check\" : \"weak-key\""), "\(weak)")
            let host = try TrustGateBinary.run(["cert", "lint", "backend-wrong-host.pem", "--hostname", "backend.test"],
                                               in: dir.path)
            #expect(host.status == 1 && host.stdout.contains("[hostname-mismatch]"), "\(host)")
            let expired = try TrustGateBinary.run(["cert", "lint", "backend-expired.pem"], in: dir.path)
            #expect(expired.stdout.contains("[expired]"))
            let made = try TrustGateBinary.run(["cert", "create", "soon.test", "--days", "5"], in: dir.path)
            try #require(made.status == 0)
            let soon = try TrustGateBinary.run(["cert", "lint", "soon.test.pem"], in: dir.path)
            #expect(soon.status == 0 && soon.stdout.contains("[expiring-soon]"), "\(soon)")
            let long = try TrustGateBinary.run(["cert", "create", "long.test", "--days", "800"], in: dir.path)
            try #require(long.status == 0)
            let longLint = try TrustGateBinary.run(["cert", "lint", "long.test.pem"], in: dir.path)
            #expect(longLint.stdout.contains("[long-validity]"))
            let cnOnly = try ProcessRunner.run("openssl", ["req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-subj", "/CN=legacy.test", "-keyout", "/dev/null", "-days", "30",
                "-addext", "basicConstraints=critical,CA:FALSE",
                "-out", dir.file("cn-only.pem")])
            try #require(cnOnly.status == 0)
            let cnLint = try TrustGateBinary.run(["cert", "lint", "cn-only.pem"], in: dir.path)
            #expect(cnLint.status == 1 && cnLint.stdout.contains("[cn-only]"), "\(cnLint)")
        }
    }

    @Test("lint: a server-profile rule is named with its reference, the profile that accepts it, and how to reissue")
    func lintProfileRules() async throws {
        try await withTestPKI { dir in
            // A self-signed leaf with a SAN but no extendedKeyUsage, and a CN that is not among its SANs.
            let made = try ProcessRunner.run("openssl", ["req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-subj", "/CN=legacy.test", "-keyout", "/dev/null", "-days", "90",
                "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "subjectAltName=DNS:other.test",
                "-out", dir.file("no-eku.pem")])
            try #require(made.status == 0)
            let lint = try TrustGateBinary.run(["cert", "lint", "no-eku.pem", "--json"], in: dir.path)
            #expect(lint.status == 1, "\(lint)")
            let findings = try #require(
                (try JSONSerialization.jsonObject(with: Data(lint.stdout.utf8)) as? [String: Any])?["findings"]
                    as? [[String: Any]])
            let noEKU = try #require(findings.first { $0["check"] as? String == "leaf-no-eku" }, "\(lint)")
            let message = noEKU["message"] as? String ?? ""
            #expect(message.contains("CA/B BR §7.1.2.7.10") && message.contains("compatible accepts it"), "\(message)")
            #expect(message.contains("Reissue: trustgate cert create other.test --profile leaf"), "\(message)")
            #expect(findings.contains { $0["check"] as? String == "cn-not-in-san" }, "\(lint)")
            // cert verify refuses it under strict (the default) and accepts it under compatible.
            let verify = try TrustGateBinary.run(["cert", "verify", "no-eku.pem", "--roots", "no-eku.pem",
                                                  "--hostname", "other.test"], in: dir.path)
            #expect(verify.status != 0 && verify.stdout.contains("profile-violation"), "\(verify)")
            let compatible = try TrustGateBinary.run(["cert", "verify", "no-eku.pem", "--roots", "no-eku.pem",
                                                      "--hostname", "other.test", "--profile", "compatible"],
                                                     in: dir.path)
            #expect(compatible.status == 0, "\(compatible)")
            // Rules about leaves do not apply to a file holding only CAs.
            let root = try TrustGateBinary.run(["cert", "lint", "root-ca.pem", "--json"], in: dir.path)
            #expect(!root.stdout.contains("\"leaf-"), "\(root)")
            #expect(!root.stdout.contains("cn-not-in-san") && !root.stdout.contains("\"no-san"), "\(root)")
        }
    }
}
