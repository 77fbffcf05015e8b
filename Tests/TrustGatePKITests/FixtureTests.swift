import Foundation
import Testing
import TrustGatePKI
import TrustGateTesting

/// The committed files of TestCerts/, made by openssl, certtool and `cert testpki`, read the way users' files are.
@Suite("Committed fixtures from other tools")
struct FixtureTests {
    static func bundle(_ path: String) throws -> CertificateBundle {
        let url = URL(fileURLWithPath: TrustGateBinary.packageRoot).appendingPathComponent("TestCerts/\(path)")
        return try CertificateBundle.decode(Array(try Data(contentsOf: url)))
    }

    @Test("One certificate in six encodings reads as the same certificate")
    func sameCertificateEveryEncoding() throws {
        let reference = try #require(try Self.bundle("openssl/rsa2048.pem").certificates.first)
        for (file, format) in [("openssl/rsa2048.der", CertificateBundle.Format.der), ("openssl/rsa2048.cer", .pem),
                               ("openssl/rsa2048-noarmour.cer", .base64), ("openssl/rsa2048-bom.pem", .pem),
                               ("openssl/with-text.pem", .pem)] {
            let bundle = try Self.bundle(file)
            #expect(bundle.format == format, "\(file)")
            #expect(bundle.certificates.map(\.sha256) == [reference.sha256], "\(file)")
        }
    }

    @Test("Keys in every tool's format match their certificates", arguments: [
        ("openssl/rsa2048.pem", "openssl/rsa2048.key"), ("openssl/rsa2048.pem", "openssl/rsa2048-pkcs1.key"),
        ("openssl/ec-p256.pem", "openssl/ec-p256.key"), ("openssl/ec-p256.pem", "openssl/ec-p256-sec1.key"),
        ("openssl/ec-p384.pem", "openssl/ec-p384.key"), ("openssl/ed25519.pem", "openssl/ed25519.key"),
        ("openssl/rsa1024.pem", "openssl/rsa1024.key"), ("openssl/leaf.pem", "openssl/leaf.key"),
        ("certtool/rsa.pem", "certtool/rsa.key"), ("certtool/ec.pem", "certtool/ec.key"),
        ("certtool/ed25519.pem", "certtool/ed25519.key"),
        ("testpki/backend-valid.pem", "testpki/backend-valid.key"),
        ("testpki/backend-weak-key.pem", "testpki/backend-weak-key.key"),
    ])
    func keysMatch(certificate: String, key: String) throws {
        let cert = try #require(try Self.bundle(certificate).certificates.first)
        let keys = try Self.bundle(key).privateKeys
        #expect(keys.count == 1)
        #expect(keys.first?.matches(cert) == true)
    }

    @Test("Weak keys and SHA-1 signatures are reported, not refused")
    func weakFixtures() throws {
        let weak = try #require(try Self.bundle("openssl/rsa1024.pem").certificates.first)
        #expect(weak.publicKey == KeyDescription(algorithm: "RSA", bits: 1024))
        #expect(weak.x509 == nil)
        let sha1 = try #require(try Self.bundle("openssl/sha1-rsa.pem").certificates.first)
        #expect(sha1.signatureAlgorithmName == "sha1WithRSAEncryption")
        #expect(sha1.hasWeakSignature)
    }

    @Test("The openssl CA chain and the test PKI full chain end in their roots")
    func chains() throws {
        let chain = try Self.bundle("openssl/leaf-chain.pem").certificates
        guard case .root(let root) = ChainAnalysis.findRoot(chain) else {
            Issue.record("no root")
            return
        }
        #expect(root.sha256 == (try Self.bundle("openssl/ca.pem").certificates.first?.sha256))
        let full = try Self.bundle("testpki/backend-valid.fullchain.pem").certificates
        guard case .root(let testRoot) = ChainAnalysis.findRoot(full) else {
            Issue.record("no root in the test PKI chain")
            return
        }
        #expect(testRoot.sha256 == (try Self.bundle("testpki/root-ca.pem").certificates.first?.sha256))
    }
}

/// TestCerts/pkcs12: files written by openssl (default, -legacy, 3DES, empty password, no MAC, cert-only,
/// key-only, CA-first), certtool (AES-128, 3DES, RC2-40) and keytool (default and legacy), against the
/// fingerprints openssl itself lists in expected.txt.
@Suite("Committed PKCS#12 fixtures from other tools")
struct PKCS12FixtureTests {
    static let directory = URL(fileURLWithPath: TrustGateBinary.packageRoot).appendingPathComponent("TestCerts/pkcs12")

    static var expected: [(file: String, key: Bool, certificates: [String])] {
        let text = (try? String(contentsOf: directory.appendingPathComponent("expected.txt"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[1].hasPrefix("key=") else { return nil }
            let certificates = fields[2].dropFirst("certs=".count).split(separator: ",").map(String.init)
            return (String(fields[0]), fields[1] == "key=yes", certificates)
        }
    }

    @Test("Every fixture opens with the right certificates and key", arguments: expected.map(\.file))
    func opens(file: String) throws {
        let entry = try #require(Self.expected.first { $0.file == file })
        let bytes = Array(try Data(contentsOf: Self.directory.appendingPathComponent(file)))
        let passwordFile = Array(try Data(contentsOf: Self.directory.appendingPathComponent("password.txt")))
        let password = file.contains("empty-password") ? Password("") : Password(fileContents: passwordFile)
        let bundle = try CertificateBundle.decode(bytes, password: password)
        #expect(Set(bundle.certificates.map(\.sha256.hexString)) == Set(entry.certificates))
        #expect(bundle.privateKeys.isEmpty != entry.key)
        if let key = bundle.privateKeys.first, let first = bundle.certificates.first {
            #expect(key.matches(first), "the key's certificate comes first")
        }
    }

    @Test("Not-a-PFX and a truncated PFX are refused; RC2 files report that OpenSSL 3 needs -legacy")
    func refusedAndReported() throws {
        #expect(Self.expected.count >= 13, "expected.txt lists the fixtures (else the test above checks nothing)")
        for file in ["not-a-pfx.pfx", "truncated.pfx"] {
            let bytes = Array(try Data(contentsOf: Self.directory.appendingPathComponent(file)))
            #expect(throws: PKIError.self) { try CertificateBundle.decode(bytes, password: Password("trustgate-test")) }
        }
        let legacy = Array(try Data(contentsOf: Self.directory.appendingPathComponent("openssl-legacy.pfx")))
        let report = try PFXContainerReport(der: legacy)
        #expect(report.bags.map(\.cipher) == ["RC2-40", "3DES"])
        #expect(!PFXCompatibility(report).openssl3 && PFXCompatibility(report).java8Before301)
    }
}
