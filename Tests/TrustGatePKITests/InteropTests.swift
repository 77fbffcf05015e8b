import Foundation
import Testing
import TrustGatePKI
import TrustGateTesting

/// Our files are read by openssl and GnuTLS' certtool; theirs are read by us with the same fingerprints and pins.
@Suite("Interoperability with openssl and certtool")
struct InteropTests {
    static let root = Result { try TestIssuance.root("Interop Root") }

    @Test("openssl and certtool read every key type × profile we write", arguments: KeyAlgorithm.offered,
          CertificateProfile.allCases)
    func theyReadOurs(algorithm: KeyAlgorithm, profile: CertificateProfile) async throws {
        let root = try Self.root.get()
        let issued = try CertificateFactory.issue(
            CertificateRequest(commonName: profile.isCA ? "Interop CA" : "interop.test", keyAlgorithm: algorithm,
                               profile: profile, validity: try TestIssuance.validity()),
            issuer: profile.needsIssuer ? root.asAuthority() : nil
        )
        try await withTemporaryDirectory { dir in
            let pem = try dir.write("cert.pem", text: issued.certificate.pem)
            let der = try dir.write("cert.der", issued.certificate.der)
            let key = try dir.write("key.pem", text: try issued.key.pkcs8PEM())

            let text = try ProcessRunner.run("openssl", ["x509", "-in", pem, "-noout", "-text"])
            #expect(text.status == 0, "\(text)")
            #expect(text.stdout.contains(profile.isCA ? "CA:TRUE" : "CA:FALSE"))
            let fingerprint = try ProcessRunner.run(
                "openssl", ["x509", "-in", der, "-inform", "DER", "-noout", "-fingerprint", "-sha256"])
            #expect(fingerprint.stdout.contains(issued.certificate.sha256.colonHexString), "\(fingerprint)")
            let serial = try ProcessRunner.run("openssl", ["x509", "-in", pem, "-noout", "-serial"])
            #expect(serial.stdout.lowercased().contains(issued.certificate.serialNumber.hexString))

            let keyCheck = try ProcessRunner.run("openssl", ["pkey", "-in", key, "-noout"])
            #expect(keyCheck.status == 0, "\(keyCheck)")
            let certtool = try ProcessRunner.run("certtool", ["-i", "--infile", pem])
            #expect(certtool.status == 0, "\(certtool)")
            #expect(certtool.stdout.lowercased().contains(issued.certificate.sha256.hexString), "\(certtool.stdout)")
            let certtoolKey = try ProcessRunner.run("certtool", ["-k", "--infile", key])
            #expect(certtoolKey.status == 0, "\(certtoolKey)")
        }
    }

    @Test("openssl verify accepts the valid test-PKI leaf and refuses expired, not-yet-valid and untrusted ones")
    func opensslVerifiesTestPKI() async throws {
        let pki = try TestPKI()
        try await withTemporaryDirectory { dir in
            for file in pki.files { try dir.write(file.name, file.contents) }
            func verify(_ name: String) throws -> ProcessResult {
                try ProcessRunner.run("openssl", ["verify", "-CAfile", dir.file("root-ca.pem"),
                                                  "-untrusted", dir.file("intermediate-ca.pem"), dir.file(name)])
            }
            #expect(try verify("backend-valid.pem").status == 0)
            #expect(try verify("gateway-listener.pem").status == 0)
            let expired = try verify("backend-expired.pem")
            #expect(expired.status != 0 && expired.stderr.contains("expired"), "\(expired)")
            let notYet = try verify("backend-not-yet-valid.pem")
            #expect(notYet.status != 0 && notYet.stderr.contains("not yet valid"), "\(notYet)")
            let untrusted = try verify("backend-untrusted.pem")
            #expect(untrusted.status != 0, "\(untrusted)")
            let selfSigned = try verify("backend-self-signed.pem")
            #expect(selfSigned.status != 0, "\(selfSigned)")
            let certtool = try ProcessRunner.run("certtool", [
                "--verify", "--load-ca-certificate", dir.file("root-ca.pem"), "--infile", dir.file("backend-valid.pem"),
            ])
            #expect(certtool.status == 0, "\(certtool)")
        }
    }

    @Test("Pins equal openssl's pubkey | dgst -sha256 | base64", arguments: ["rsa:2048", "ec", "ed25519"])
    func pinsMatchOpenSSL(keySpec: String) async throws {
        try await withTemporaryDirectory { dir in
            var arguments = ["req", "-x509", "-nodes", "-subj", "/CN=pin.test", "-days", "2",
                             "-keyout", dir.file("k.pem"), "-out", dir.file("c.pem")]
            switch keySpec {
            case "ec": arguments += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
            default: arguments += ["-newkey", keySpec]
            }
            let made = try ProcessRunner.run("openssl", arguments)
            try #require(made.status == 0, "\(made)")
            let spki = try ProcessRunner.run("openssl", ["x509", "-in", dir.file("c.pem"), "-pubkey", "-noout"])
            let der = try ProcessRunner.run("openssl", ["pkey", "-pubin", "-outform", "DER"],
                                            input: spki.standardOutput)
            let digest = try ProcessRunner.run("openssl", ["dgst", "-sha256", "-binary"], input: der.standardOutput)
            let expected = "sha256/" + digest.standardOutput.base64String

            let bundle = try CertificateBundle.decode(try dir.read("c.pem"))
            #expect(bundle.certificates.first?.spkiPin == expected)
            let keyBundle = try CertificateBundle.decode(try dir.read("k.pem"))
            #expect(SPKIPin.pins(of: keyBundle).first?.pin == expected, "the key's pin equals the certificate's")
        }
    }

    @Test("We read certificates and keys certtool makes", arguments: ["rsa", "ecdsa", "ed25519"])
    func weReadCerttool(keyType: String) async throws {
        try await withTemporaryDirectory { dir in
            var keyArguments = ["--generate-privkey", "--key-type", keyType, "--outfile", dir.file("k.pem")]
            if keyType == "rsa" { keyArguments += ["--bits", "2048"] }
            let key = try ProcessRunner.run("certtool", keyArguments)
            try #require(key.status == 0, "\(key)")
            try dir.write("t.cfg", text: "cn = certtool.test\ndns_name = certtool.test\nexpiration_days = 2\ntls_www_server\nsigning_key\n")
            let cert = try ProcessRunner.run("certtool", [
                "--generate-self-signed", "--load-privkey", dir.file("k.pem"), "--template", dir.file("t.cfg"),
                "--outfile", dir.file("c.pem"),
            ])
            try #require(cert.status == 0, "\(cert)")
            let fingerprint = try ProcessRunner.run("certtool", ["-i", "--infile", dir.file("c.pem"), "--fingerprint",
                                                                 "--hash", "sha256"])
            let certificate = try #require(try CertificateBundle.decode(try dir.read("c.pem")).certificates.first)
            #expect(fingerprint.stdout.lowercased().contains(certificate.sha256.hexString), "\(fingerprint)")
            #expect(certificate.subjectAlternativeNames.map(SubjectAlternativeName.display) == ["DNS:certtool.test"])
            let keys = try CertificateBundle.decode(try dir.read("k.pem")).privateKeys
            #expect(keys.count == 1)
            #expect(keys.first?.matches(certificate) == true)
        }
    }

    @Test("We read openssl's SEC1 and PKCS#1 keys, DER certificates and RSA-1024 certificates")
    func weReadOpenSSLFormats() async throws {
        try await withTemporaryDirectory { dir in
            _ = try ProcessRunner.run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-out", dir.file("sec1.pem")])
            let sec1 = try CertificateBundle.decode(try dir.read("sec1.pem"))
            #expect(sec1.privateKeys.first?.description == KeyDescription(algorithm: "EC", bits: 256, curve: "P-256"))

            _ = try ProcessRunner.run("openssl", ["genrsa", "-traditional", "-out", dir.file("pkcs1.pem"), "2048"])
            let pkcs1 = try CertificateBundle.decode(try dir.read("pkcs1.pem"))
            #expect(pkcs1.privateKeys.first?.description.bits == 2048)

            let weak = try ProcessRunner.run("openssl", [
                "req", "-x509", "-nodes", "-newkey", "rsa:1024", "-subj", "/CN=weak.test", "-days", "2",
                "-keyout", dir.file("weak.key"), "-out", dir.file("weak.pem"), "-outform", "DER",
            ])
            try #require(weak.status == 0, "\(weak)")
            let weakCert = try #require(try CertificateBundle.decode(try dir.read("weak.pem")).certificates.first)
            #expect(weakCert.publicKey.isWeak)
            #expect(weakCert.unusableReason?.contains("too weak") == true)
            #expect(weakCert.commonNames == ["weak.test"])
        }
    }
}
