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
