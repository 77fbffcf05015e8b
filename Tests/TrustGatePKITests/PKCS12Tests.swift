import Foundation
import Testing
import TrustGatePKI
import TrustGateTesting

@Suite("PKCS#12: reading every real-world file, writing three profiles")
struct PKCS12Tests {
    static let chain = Result { () throws -> (IssuedCertificate, IssuedCertificate) in
        let root = try TestIssuance.root("PFX Root")
        let intermediate = try TestIssuance.intermediate("PFX Intermediate", issuer: root)
        return (root, intermediate)
    }
    static let password = Password("pässwörd 1")

    func leaf(_ algorithm: KeyAlgorithm) throws -> IssuedCertificate {
        try TestIssuance.leaf("pfx.test", issuer: try Self.chain.get().1, key: algorithm)
    }

    @Test("Every profile × key type round-trips through our writer and reader", arguments: PFXProfile.allCases,
          KeyAlgorithm.offered)
    func roundTrip(profile: PFXProfile, algorithm: KeyAlgorithm) throws {
        let issued = try leaf(algorithm)
        let pfx = try PFXWriter.write(certificates: [issued.certificate] + issued.chain, key: issued.key,
                                      password: Self.password, profile: profile, friendlyName: "pfx.test")
        let bundle = try CertificateBundle.decode(pfx, password: Self.password)
        #expect(bundle.format == .pkcs12)
        #expect(bundle.certificates.map(\.sha256) == ([issued.certificate] + issued.chain).map(\.sha256))
        #expect(bundle.privateKeys.count == 1)
        #expect(bundle.privateKeys.first?.matches(issued.certificate) == true)
        let report = try #require(bundle.pfx)
        let ciphers = report.bags.map { "\($0.contents):\($0.cipher)" }
        switch profile {
        case .modern:
            #expect(ciphers == ["certificates:AES-256-CBC", "key:AES-256-CBC"])
            #expect(report.bags.allSatisfy { $0.prf == "hmacWithSHA256" })
            #expect(report.mac?.algorithm == "SHA-256")
        case .compat:
            #expect(ciphers == ["certificates:3DES", "key:3DES"])
            #expect(report.mac?.algorithm == "SHA-1")
            #expect(PFXCompatibility(report).openssl3 && PFXCompatibility(report).windowsServer2016)
        case .legacy:
            #expect(ciphers == ["certificates:RC2-40", "key:3DES"])
            #expect(!PFXCompatibility(report).openssl3 && PFXCompatibility(report).openssl3Legacy)
        }
    }

    @Test("openssl, certtool and keytool open our files: modern and compat without -legacy, legacy only with it",
          arguments: PFXProfile.allCases, [KeyAlgorithm.ecP256, .rsa2048, .ed25519])
    func theyReadOurs(profile: PFXProfile, algorithm: KeyAlgorithm) async throws {
        let issued = try leaf(algorithm)
        let pfx = try PFXWriter.write(certificates: [issued.certificate] + issued.chain, key: issued.key,
                                      password: Password("s3cret"), profile: profile, friendlyName: "pfx.test")
        try await withTemporaryDirectory { dir in
            let path = try dir.write("ours.pfx", pfx)
            let legacyFlag = profile == .legacy ? ["-legacy"] : []
            if profile == .legacy {
                let plain = try ProcessRunner.run("openssl", ["pkcs12", "-in", path, "-passin", "pass:s3cret", "-nodes"])
                #expect(plain.status != 0, "OpenSSL 3 refuses RC2-40 without -legacy: \(plain)")
            }
            let opened = try ProcessRunner.run("openssl", ["pkcs12"] + legacyFlag + ["-in", path, "-passin",
                                                                                     "pass:s3cret", "-nodes"])
            #expect(opened.status == 0, "\(opened)")
            #expect(opened.stdout.contains("BEGIN PRIVATE KEY") && opened.stdout.contains("friendlyName: pfx.test"))
            // The key openssl extracts is ours: same public key.
            let extracted = try ProcessRunner.run("openssl", ["pkey", "-pubout", "-outform", "DER"],
                                                  input: opened.standardOutput)
            #expect(extracted.standardOutput == issued.key.subjectPublicKeyInfo, "\(extracted.stderr)")
            let fingerprint = try ProcessRunner.run("openssl", ["x509", "-noout", "-fingerprint", "-sha256"],
                                                    input: opened.standardOutput)
            #expect(fingerprint.stdout.contains(issued.certificate.sha256.colonHexString), "the leaf comes first")
            let certtool = try ProcessRunner.run("certtool", ["--p12-info", "--inder", "--infile", path,
                                                              "--password", "s3cret"])
            #expect(certtool.status == 0, "\(certtool)")
            if ProcessRunner.isInstalled("keytool") {
                let keytool = try ProcessRunner.run("keytool", ["-list", "-storetype", "PKCS12", "-keystore", path,
                                                                "-storepass", "s3cret"])
                #expect(keytool.status == 0 && keytool.stdout.contains("PrivateKeyEntry"), "\(keytool)")
                #expect(keytool.stdout.contains(issued.certificate.sha256.colonHexString), "\(keytool)")
            }
        }
    }

    @Test("We read files openssl, certtool and keytool write, with matching fingerprints and key", arguments: [
        "openssl-default", "openssl-legacy", "openssl-3des", "certtool-aes-128", "certtool-3des-pkcs12",
        "certtool-rc2-40", "keytool",
    ])
    func weReadTheirs(tool: String) async throws {
        let issued = try leaf(.ecP256)
        try await withTemporaryDirectory { dir in
            let cert = try dir.write("c.pem", text: issued.chainPEM)
            let key = try dir.write("k.pem", text: try issued.key.pkcs8PEM())
            let out = dir.file("theirs.pfx")
            var expectedCertificates = ([issued.certificate] + issued.chain).map(\.sha256)
            let result: ProcessResult
            switch tool {
            case "openssl-default", "openssl-legacy", "openssl-3des":
                var arguments = ["pkcs12", "-export", "-in", cert, "-inkey", key, "-passout", "pass:s3cret",
                                 "-out", out, "-name", "theirs"]
                if tool == "openssl-legacy" { arguments.append("-legacy") }
                if tool == "openssl-3des" {
                    arguments += ["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"]
                }
                result = try ProcessRunner.run("openssl", arguments)
            case "keytool":
                guard ProcessRunner.isInstalled("keytool") else { return }
                result = try ProcessRunner.run("keytool", [
                    "-genkeypair", "-alias", "k", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                    "CN=keytool.test", "-validity", "2", "-storetype", "PKCS12", "-keystore", out,
                    "-storepass", "s3cret",
                ])
                expectedCertificates = []
            default:
                let cipher = String(tool.dropFirst("certtool-".count))
                result = try ProcessRunner.run("certtool", [
                    "--to-p12", "--load-certificate", cert, "--load-privkey", key, "--p12-name", "theirs",
                    "--password", "s3cret", "--outder", "--pkcs-cipher", cipher, "--outfile", out,
                ])
            }
            try #require(result.status == 0, "\(result)")
            let bundle = try CertificateBundle.decode(try dir.read("theirs.pfx"), password: Password("s3cret"))
            if !expectedCertificates.isEmpty {
                #expect(bundle.certificates.map(\.sha256) == expectedCertificates, "\(tool)")
            }
            #expect(bundle.privateKeys.count == 1, "\(tool)")
            #expect(bundle.certificates.first.map { bundle.privateKeys.first?.matches($0) == true } == true)
        }
    }

    @Test("Empty password, certificate-only and key-only files")
    func unusualContents() async throws {
        let issued = try leaf(.ecP256)
        let empty = try PFXWriter.write(certificates: [issued.certificate], key: issued.key, password: Password(""))
        #expect(try CertificateBundle.decode(empty, password: nil).privateKeys.count == 1,
                "no password given: the empty one is tried")
        #expect(try CertificateBundle.decode(empty, password: Password("")).certificates.count == 1)
        let certOnly = try PFXWriter.write(certificates: [issued.certificate] + issued.chain, key: nil,
                                           password: Self.password)
        let certBundle = try CertificateBundle.decode(certOnly, password: Self.password)
        #expect(certBundle.privateKeys.isEmpty && certBundle.certificates.count == 2)
        try await withTemporaryDirectory { dir in
            let key = try dir.write("k.pem", text: try issued.key.pkcs8PEM())
            let made = try ProcessRunner.run("openssl", ["pkcs12", "-export", "-nocerts", "-inkey", key,
                                                         "-passout", "pass:s3cret", "-out", dir.file("k.pfx")])
            try #require(made.status == 0, "\(made)")
            let keyOnly = try CertificateBundle.decode(try dir.read("k.pfx"), password: Password("s3cret"))
            #expect(keyOnly.certificates.isEmpty && keyOnly.privateKeys.count == 1)
        }
    }

    @Test("Wrong password, missing password, truncation, a flipped MAC byte and not-a-PFX are clean errors")
    func failures() throws {
        let issued = try leaf(.ecP256)
        let pfx = try PFXWriter.write(certificates: [issued.certificate], key: issued.key, password: Self.password,
                                      profile: .compat)
        let wrong = #expect(throws: PKIError.self) { try CertificateBundle.decode(pfx, password: Password("nope")) }
        #expect(wrong?.code == .wrongPassword)
        #expect(wrong?.reason == "wrong password or corrupted file (MAC verification failed)")
        let missing = #expect(throws: PKIError.self) { try CertificateBundle.decode(pfx, password: nil) }
        #expect(missing?.code == .passwordRequired)
        for cut in [pfx.count / 2, pfx.count - 1, 40] {
            #expect(throws: PKIError.self) { try CertificateBundle.decode(Array(pfx.prefix(cut)), password: Self.password) }
        }
        var flipped = pfx
        flipped[pfx.count - 30] ^= 0x01  // inside the MAC value
        let macError = #expect(throws: PKIError.self) { try CertificateBundle.decode(flipped, password: Self.password) }
        #expect(macError?.code == .wrongPassword)
        let notPFX = [UInt8](repeating: 0x30, count: 64)
        #expect(throws: PKIError.self) { try CertificateBundle.decode(notPFX, password: Self.password) }
    }

    /// Hangs are bounded by `PFXReader.maximumIterations`: a mutated iteration count cannot keep PBKDF2 busy.
    @Test("1,000 random mutations of valid PFX files: no crash, only values or PKIError")
    func mutations() throws {
        let issued = try leaf(.ecP256)
        let seeds = try PFXProfile.allCases.map { profile in
            try PFXWriter.write(certificates: [issued.certificate] + issued.chain, key: issued.key,
                                password: Self.password, profile: profile)
        }
        var generator = SplitMix64(seed: 0x7157_6A7E)
        var opened = 0
        for round in 0..<1000 {
            var bytes = seeds[round % seeds.count]
            switch generator.next() % 4 {
            case 0:  // flip up to 4 random bits
                for _ in 0...(generator.next() % 4) {
                    let index = Int(generator.next() % UInt64(bytes.count))
                    bytes[index] ^= UInt8(1 << (generator.next() % 8))
                }
            case 1:  // truncate
                bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count))))
            case 2:  // overwrite a run with random bytes
                let start = Int(generator.next() % UInt64(bytes.count))
                for index in start..<min(bytes.count, start + 8) { bytes[index] = UInt8(truncatingIfNeeded: generator.next()) }
            default:  // insert a byte
                bytes.insert(UInt8(truncatingIfNeeded: generator.next()), at: Int(generator.next() % UInt64(bytes.count)))
            }
            do {
                _ = try CertificateBundle.decode(bytes, password: Self.password)
                opened += 1
            } catch {
                // A PKIError is the only acceptable failure; typed throws guarantee it.
            }
        }
        #expect(opened < 1000, "mutations must actually break files")
    }
}

/// A small deterministic generator, so a failing mutation can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
