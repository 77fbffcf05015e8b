import Foundation
import Testing
import TrustGateTesting

@Suite("trustgate cert export, root, pin and inspect")
struct CertExportCommandTests {
    /// A test PKI in a temporary directory.
    @Test("--cer and --cer-base64 round-trip byte for byte to the original DER")
    func cerRoundTrip() async throws {
        try await withTestPKI { dir in
            let original = try ProcessRunner.run("openssl", ["x509", "-in", dir.file("backend-valid.pem"),
                                                             "-outform", "DER"]).standardOutput
            let result = try TrustGateBinary.run(["cert", "export", "backend-valid.pem", "--cer", "b.cer",
                                                  "--cer-base64", "b64.cer", "--public-key", "pub.pem", "--pin"],
                                                 in: dir.path)
            #expect(result.status == 0, "\(result)")
            #expect(try dir.read("b.cer") == original)
            let fromBase64 = try ProcessRunner.run("openssl", ["x509", "-in", dir.file("b64.cer"), "-outform", "DER"])
            #expect(fromBase64.standardOutput == original)
            let pubkey = try ProcessRunner.run("openssl", ["x509", "-in", dir.file("backend-valid.pem"), "-pubkey",
                                                           "-noout"])
            #expect(try dir.read("pub.pem") == pubkey.standardOutput)
            let der = try ProcessRunner.run("openssl", ["pkey", "-pubin", "-outform", "DER"],
                                            input: pubkey.standardOutput)
            let digest = try ProcessRunner.run("openssl", ["dgst", "-sha256", "-binary"], input: der.standardOutput)
            #expect(result.stdout.contains("sha256/" + Data(digest.standardOutput).base64EncodedString()))
            // And back: our own reader takes the DER .cer and the Base64 .cer.
            for file in ["b.cer", "b64.cer"] {
                let inspect = try TrustGateBinary.run(["cert", "inspect", file, "--json"], in: dir.path)
                #expect(inspect.status == 0 && inspect.stdout.contains("\"subject\" : \"CN=backend.test\""))
            }
        }
    }

    @Test("export from a PEM holding the key as well never writes the key")
    func exportNeverLeaksKey() async throws {
        try await withTestPKI { dir in
            let combined = try dir.read("backend-valid.pem") + (try dir.read("backend-valid.key"))
            try dir.write("combined.pem", combined)
            let result = try TrustGateBinary.run(["cert", "export", "combined.pem"], in: dir.path)
            #expect(result.status == 0)
            #expect(result.stdout.contains("BEGIN CERTIFICATE") && !result.stdout.contains("PRIVATE KEY"))
        }
    }

    @Test("root: finds the root of a full chain; exits 1 naming the missing issuer otherwise")
    func root() async throws {
        try await withTestPKI { dir in
            let found = try TrustGateBinary.run(["cert", "root", "backend-valid.fullchain.pem", "--out", "r.pem"],
                                                in: dir.path)
            #expect(found.status == 0, "\(found)")
            #expect(try dir.read("r.pem") == (try dir.read("root-ca.pem")))
            let missing = try TrustGateBinary.run(["cert", "root", "backend-valid.pem", "--out", "r2.pem"], in: dir.path)
            #expect(missing.status == 1, "\(missing)")
            #expect(missing.stderr.contains("whose issuer CN=TrustGate Test Root CA is not in the file"), "\(missing)")
            #expect(!dir.exists("r2.pem"))
            let exportRoot = try TrustGateBinary.run(["cert", "export", "backend-valid.pem", "--root", "r3.pem",
                                                      "--cer", "c.cer"], in: dir.path)
            #expect(exportRoot.status == 1 && !dir.exists("c.cer"), "nothing written when one output fails")
            let selfSigned = try TrustGateBinary.run(["cert", "root", "backend-self-signed.pem"], in: dir.path)
            #expect(selfSigned.status == 0 && selfSigned.stdout.hasPrefix("-----BEGIN CERTIFICATE-----"))
        }
    }

    @Test("pin labels every certificate of a chain and matches openssl for each")
    func pinChain() async throws {
        try await withTestPKI { dir in
            let result = try TrustGateBinary.run(["cert", "pin", "backend-valid.fullchain.pem"], in: dir.path)
            #expect(result.status == 0)
            #expect(result.stdout.contains("backend.test (leaf)"))
            #expect(result.stdout.contains("TrustGate Test Intermediate CA (intermediate)"))
            #expect(result.stdout.contains("TrustGate Test Root CA (root)"))
            let pubkey = try ProcessRunner.run("openssl", ["x509", "-in", dir.file("root-ca.pem"), "-pubkey", "-noout"])
            let der = try ProcessRunner.run("openssl", ["pkey", "-pubin", "-outform", "DER"],
                                            input: pubkey.standardOutput)
            let hex = try ProcessRunner.run("openssl", ["dgst", "-sha256", "-r"], input: der.standardOutput)
            let digest = String(hex.stdout.prefix(64))
            #expect(result.stdout.contains("hex: \(digest)"))
        }
    }

    @Test("inspect --json has the documented keys and agrees with openssl")
    func inspectJSON() async throws {
        try await withTestPKI { dir in
            let result = try TrustGateBinary.run(["cert", "inspect", "backend-valid.pem", "--json"], in: dir.path)
            #expect(result.status == 0)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput)) as? [String: Any])
            #expect(json["format"] as? String == "pem")
            #expect(json["hasPrivateKey"] as? Bool == false)
            let certificates = try #require(json["certificates"] as? [[String: Any]])
            #expect(certificates.count == 2)
            let leaf = certificates[0]
            for key in ["subject", "issuer", "serial", "notBefore", "notAfter", "sha256", "spkiSha256", "isCA",
                        "subjectAltNames", "keyType", "keySize", "signatureAlgorithm"] {
                #expect(leaf[key] != nil, "key \(key)")
            }
            #expect(leaf["subjectAltNames"] as? [String] == ["DNS:backend.test"])
            #expect(leaf["keyType"] as? String == "EC" && leaf["keySize"] as? Int == 256)
            #expect(leaf["isCA"] as? Bool == false && certificates[1]["isCA"] as? Bool == true)
            let fingerprint = try ProcessRunner.run("openssl", ["x509", "-in", dir.file("backend-valid.pem"), "-noout",
                                                                "-fingerprint", "-sha256"])
            let hex = fingerprint.stdout.split(separator: "=").last.map { $0.replacingOccurrences(of: ":", with: "") }
            #expect(hex?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == leaf["sha256"] as? String)
            let withKey = try TrustGateBinary.run(["cert", "inspect", "backend-valid.key", "--json"], in: dir.path)
            #expect(withKey.stdout.contains("\"hasPrivateKey\" : true"))
            #expect(!withKey.stdout.contains("BEGIN"), "inspect never prints key material")
        }
    }
}
