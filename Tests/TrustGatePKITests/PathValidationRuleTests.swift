import Foundation
import SwiftASN1
import Testing
import TrustGatePKI
import TrustGateTesting
import X509

/// One test per rule of RFC 5280 and the CA/Browser Forum server profile, positive and negative, in both
/// verification profiles where they differ. Chains are made in code; each expectation names the category the
/// evaluator must give (`ok` for an accepted chain).
@Suite("Path validation rules: RFC 5280 and the server profile, strict and compatible")
struct PathValidationRuleTests {
    typealias Tweaks = CustomCertificate.Tweaks

    /// The category of `chain` (leaf first, the root not included) under both profiles.
    static func categories(
        _ chain: [CustomCertificate], root: CustomCertificate, host: String? = "backend.test",
        purpose: CertificatePurpose = .server, at time: Date = Date(), maxDepth: Int = 8
    ) -> (strict: ReasonCategory, compatible: ReasonCategory, details: String) {
        let evaluator = TrustEvaluator()
        func verdict(_ profile: VerificationProfile) -> TrustVerdict {
            evaluator.evaluateNow(TrustEvaluationRequest(
                presented: chain.map(\.certificate), roots: TrustAnchors([root.certificate]),
                identity: host.map(ServerIdentity.init), time: time, maximumIntermediates: maxDepth, purpose: purpose,
                profile: profile
            ))
        }
        let strict = verdict(.strict)
        let compatible = verdict(.compatible)
        return (strict.category, compatible.category, "strict: \(strict.detail) | compatible: \(compatible.detail)")
    }

    static func expect(
        _ chain: [CustomCertificate], root: CustomCertificate, host: String? = "backend.test",
        purpose: CertificatePurpose = .server, at time: Date = Date(), maxDepth: Int = 8,
        strict: ReasonCategory, compatible: ReasonCategory, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let result = categories(chain, root: root, host: host, purpose: purpose, at: time, maxDepth: maxDepth)
        #expect(result.strict == strict && result.compatible == compatible,
                "\(comment): got strict \(result.strict), compatible \(result.compatible); \(result.details)",
                sourceLocation: sourceLocation)
    }

    static func leaf(
        _ host: String = "backend.test", issuer: CustomCertificate, sans: [GeneralName]? = nil,
        extendedKeyUsage: [ExtendedKeyUsage.Usage]? = nil, keyUsage: KeyUsage? = nil, ca: Bool = false,
        tweaks: Tweaks = Tweaks(), notBefore: Date = Date().addingTimeInterval(-86400),
        notAfter: Date = Date().addingTimeInterval(86400 * 30), keyAlgorithm: KeyAlgorithm = .ecP256
    ) throws -> CustomCertificate {
        try CustomCertificate(host, issuer: issuer, ca: ca, sans: sans ?? [.dnsName(host)], keyUsage: keyUsage,
                              extendedKeyUsage: extendedKeyUsage, notBefore: notBefore, notAfter: notAfter,
                              keyAlgorithm: keyAlgorithm, tweaks: tweaks)
    }

    static func tweaked(_ change: (inout Tweaks) -> Void) -> Tweaks {
        var tweaks = Tweaks()
        change(&tweaks)
        return tweaks
    }

    // MARK: RFC 5280 certificate profile: both profiles

    @Test("A well-formed chain is accepted under both profiles")
    func baseline() throws {
        let root = try CustomCertificate("Root", ca: true)
        let intermediate = try CustomCertificate("Intermediate", issuer: root, ca: true)
        Self.expect([try Self.leaf(issuer: intermediate), intermediate], root: root, strict: .ok, compatible: .ok, "baseline")
    }

    @Test("Key identifiers: AKI on every certificate but a self-signed root, SKI on every CA, neither critical, a root's AKI its own SKI")
    func keyIdentifiers() throws {
        let root = try CustomCertificate("Root", ca: true)
        let noAKI = try CustomCertificate("Intermediate", issuer: root, ca: true, tweaks: Self.tweaked { $0.authorityKeyIdentifier = false })
        Self.expect([try Self.leaf(issuer: noAKI), noAKI], root: root, strict: .profileViolation, compatible: .profileViolation,
                    "intermediate without AKI")
        Self.expect([try Self.leaf(issuer: root, tweaks: Self.tweaked { $0.authorityKeyIdentifier = false })], root: root,
                    strict: .profileViolation, compatible: .profileViolation, "leaf without AKI")
        let noSKI = try CustomCertificate("Intermediate", issuer: root, ca: true, tweaks: Self.tweaked { $0.subjectKeyIdentifier = false })
        Self.expect([try Self.leaf(issuer: noSKI), noSKI], root: root, strict: .profileViolation, compatible: .profileViolation,
                    "CA without SKI")
        let mismatched = try CustomCertificate("Root", ca: true, tweaks: Self.tweaked { $0.wrongAuthorityKeyIdentifier = true })
        Self.expect([try Self.leaf(issuer: mismatched)], root: mismatched, strict: .profileViolation,
                    compatible: .profileViolation, "root whose AKI is not its SKI")
        let criticalSKI = try CustomCertificate("Root", ca: true, tweaks: Self.tweaked {
            $0.subjectKeyIdentifier = false
            $0.extra = [Certificate.Extension(oid: .X509ExtensionID.subjectKeyIdentifier, critical: true, value: [0x04, 0x02, 0x01, 0x02])]
        })
        Self.expect([try Self.leaf(issuer: criticalSKI)], root: criticalSKI, strict: .profileViolation,
                    compatible: .profileViolation, "critical SKI")
    }

    @Test("Serial numbers: zero and over 20 octets refused, 20 octets accepted")
    func serialNumbers() throws {
        let root = try CustomCertificate("Root", ca: true)
        let zero = try Self.leaf(issuer: root, tweaks: Self.tweaked { $0.serial = [0] })
        Self.expect([zero], root: root, strict: .profileViolation, compatible: .profileViolation, "serial zero")
        let long = try Self.leaf(issuer: root, tweaks: Self.tweaked { $0.serial = [0x01] + [UInt8](repeating: 0x22, count: 20) })
        Self.expect([long], root: root, strict: .profileViolation, compatible: .profileViolation, "21-octet serial")
        let twenty = try Self.leaf(issuer: root, tweaks: Self.tweaked { $0.serial = [0x7F] + [UInt8](repeating: 0x22, count: 19) })
        Self.expect([twenty], root: root, strict: .ok, compatible: .ok, "20-octet serial")
    }

    @Test("Subjects: a CA's not empty; an empty subject needs a critical SAN")
    func subjects() throws {
        let root = try CustomCertificate("Root", ca: true)
        let anonymous = try CustomCertificate("ignored", issuer: root, ca: true, tweaks: Self.tweaked { $0.emptySubject = true })
        Self.expect([try Self.leaf(issuer: anonymous), anonymous], root: root, strict: .profileViolation,
                    compatible: .profileViolation, "a CA with an empty subject")
        let nonCritical = try Self.leaf(issuer: root, tweaks: Self.tweaked { $0.emptySubject = true })
        Self.expect([nonCritical], root: root, strict: .profileViolation, compatible: .profileViolation,
                    "empty subject, non-critical SAN")
        let critical = try Self.leaf(issuer: root, tweaks: Self.tweaked {
            $0.emptySubject = true
            $0.subjectAlternativeNameCritical = true
        })
        Self.expect([critical], root: root, strict: .ok, compatible: .ok, "empty subject, critical SAN")
    }

    @Test("keyCertSign on a leaf, CA:TRUE on a leaf, basicConstraints not critical on a CA")
    func basicConstraintsAndKeyUsage() throws {
        let root = try CustomCertificate("Root", ca: true)
        let signer = try Self.leaf(issuer: root, keyUsage: KeyUsage(digitalSignature: true, keyCertSign: true))
        Self.expect([signer], root: root, strict: .profileViolation, compatible: .profileViolation, "keyCertSign on a leaf")
        let caLeaf = try Self.leaf(issuer: root, keyUsage: KeyUsage(digitalSignature: true, keyCertSign: true), ca: true)
        Self.expect([caLeaf], root: root, strict: .profileViolation, compatible: .ok, "a CA certificate as the leaf")
        let softRoot = try CustomCertificate("Root", ca: true, tweaks: Self.tweaked { $0.basicConstraintsCritical = false })
        Self.expect([try Self.leaf(issuer: softRoot)], root: softRoot, strict: .profileViolation, compatible: .profileViolation,
                    "root basicConstraints not critical")
        let noBC = try CustomCertificate("Intermediate", issuer: root, ca: true, tweaks: Self.tweaked { $0.basicConstraints = false })
        Self.expect([try Self.leaf(issuer: noBC), noBC], root: root, strict: .notACA, compatible: .notACA,
                    "intermediate without basicConstraints")
        let noKeyCertSign = try CustomCertificate("Intermediate", issuer: root, ca: true,
                                                  keyUsage: KeyUsage(digitalSignature: true, cRLSign: true))
        Self.expect([try Self.leaf(issuer: noKeyCertSign), noKeyCertSign], root: root, strict: .badKeyUsage,
                    compatible: .badKeyUsage, "CA without keyCertSign")
        Self.expect([try Self.leaf(issuer: root, tweaks: Self.tweaked { $0.basicConstraints = false })], root: root,
                    strict: .ok, compatible: .ok, "a leaf without basicConstraints")
    }

    @Test("Policy constraints critical, AIA not critical, unknown critical extensions refused")
    func extensionCriticality() throws {
        let policyConstraints = [0x30, 0x03, 0x80, 0x01, 0x00] as [UInt8]  // requireExplicitPolicy 0
        let root = try CustomCertificate("Root", ca: true)
        let softPolicy = try CustomCertificate("Intermediate", issuer: root, ca: true, tweaks: Self.tweaked {
            $0.extra = [CustomCertificate.rawExtension([2, 5, 29, 36], critical: false, value: policyConstraints)]
        })
        Self.expect([try Self.leaf(issuer: softPolicy), softPolicy], root: root, strict: .profileViolation,
                    compatible: .profileViolation, "non-critical policyConstraints")
        let hardPolicy = try CustomCertificate("Intermediate", issuer: root, ca: true, tweaks: Self.tweaked {
            $0.extra = [CustomCertificate.rawExtension([2, 5, 29, 36], critical: true, value: policyConstraints)]
        })
        Self.expect([try Self.leaf(issuer: hardPolicy), hardPolicy], root: root, strict: .ok, compatible: .ok,
                    "critical policyConstraints")
        // AuthorityInfoAccess with one caIssuers URI.
        let uri = Array("http://ca.test/i.der".utf8)
        let description = [0x30, UInt8(10 + 2 + uri.count), 0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02,
                           0x86, UInt8(uri.count)] + uri
        let aia = [0x30, UInt8(description.count)] + description
        Self.expect([try Self.leaf(issuer: root, tweaks: Self.tweaked {
            $0.extra = [CustomCertificate.rawExtension([1, 3, 6, 1, 5, 5, 7, 1, 1], critical: true, value: aia)]
        })], root: root, strict: .profileViolation, compatible: .profileViolation, "critical AIA")
        Self.expect([try Self.leaf(issuer: root, tweaks: Self.tweaked {
            $0.extra = [CustomCertificate.rawExtension([1, 3, 6, 1, 5, 5, 7, 1, 1], critical: false, value: aia)]
        })], root: root, strict: .ok, compatible: .ok, "non-critical AIA")
        Self.expect([try Self.leaf(issuer: root, tweaks: Self.tweaked {
            $0.extra = [CustomCertificate.rawExtension([1, 3, 6, 1, 4, 1, 55738, 666, 1], critical: true, value: [0x05, 0x00])]
        })], root: root, strict: .malformed, compatible: .malformed, "unknown critical extension")
    }

    @Test("Version 1 certificates: a v1 leaf only under compatible, a v1 intermediate never")
    func versionOne() throws {
        let root = try CustomCertificate("Root", ca: true)
        let v1Leaf = try CustomCertificate("backend.test", issuer: root, ca: false, tweaks: Self.tweaked { $0.version = .v1 })
        Self.expect([v1Leaf], root: root, strict: .hostnameMismatch, compatible: .ok, "a v1 leaf (CN only: strict needs a SAN)")
        let v1Intermediate = try CustomCertificate("Intermediate", issuer: root, ca: true, tweaks: Self.tweaked { $0.version = .v1 })
        Self.expect([try Self.leaf(issuer: v1Intermediate), v1Intermediate], root: root, strict: .notACA, compatible: .notACA,
                    "a v1 intermediate")
    }

    // MARK: Server profile: strict only

    @Test("EKU: a leaf needs one with serverAuth, not critical, without anyExtendedKeyUsage or other purposes; none on the root")
    func extendedKeyUsage() throws {
        let root = try CustomCertificate("Root", ca: true)
        Self.expect([try Self.leaf(issuer: root, extendedKeyUsage: [.serverAuth])], root: root, strict: .ok, compatible: .ok,
                    "serverAuth only")
        Self.expect([try Self.leaf(issuer: root, extendedKeyUsage: [.serverAuth, .any])], root: root,
                    strict: .profileViolation, compatible: .ok, "anyExtendedKeyUsage on the leaf")
        Self.expect([try Self.leaf(issuer: root, extendedKeyUsage: [.any])], root: root,
                    strict: .badKeyUsage, compatible: .ok, "anyExtendedKeyUsage alone")
        Self.expect([try Self.leaf(issuer: root, extendedKeyUsage: [.serverAuth], tweaks: Self.tweaked { $0.extendedKeyUsageCritical = true })],
                    root: root, strict: .profileViolation, compatible: .ok, "critical EKU on the leaf")
        Self.expect([try Self.leaf(issuer: root, extendedKeyUsage: [.serverAuth, .codeSigning])], root: root,
                    strict: .profileViolation, compatible: .ok, "serverAuth with codeSigning")
        Self.expect([try Self.leaf(issuer: root, extendedKeyUsage: [.clientAuth])], root: root,
                    strict: .badKeyUsage, compatible: .badKeyUsage, "clientAuth only")
        let ekuRoot = try CustomCertificate("Root", ca: true, extendedKeyUsage: [.serverAuth])
        Self.expect([try Self.leaf(issuer: ekuRoot)], root: ekuRoot, strict: .profileViolation, compatible: .ok, "EKU on the root")
    }

    @Test("A leaf without EKU: RFC 5280 accepts it, the server profile does not")
    func leafWithoutEKU() throws {
        let root = try CustomCertificate("Root", ca: true)
        // CustomCertificate adds serverAuth+clientAuth to a leaf unless an EKU is given; a CA-less leaf without one:
        let key = try KeyAlgorithm.ecP256.generate()
        let name = try DistinguishedName { CommonName("backend.test") }
        var extensions = Certificate.Extensions()
        try extensions.append(Certificate.Extension(KeyUsage(digitalSignature: true), critical: true))
        try extensions.append(Certificate.Extension(SubjectAlternativeNames([.dnsName("backend.test")]), critical: false))
        try extensions.append(Certificate.Extension(SubjectKeyIdentifier(hash: key.publicKey), critical: false))
        let rootSKI = try #require(try root.certificate.extensions.subjectKeyIdentifier).keyIdentifier
        try extensions.append(Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: rootSKI), critical: false))
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: Date().addingTimeInterval(-60), notValidAfter: Date().addingTimeInterval(86400),
            issuer: root.certificate.subject, subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: root.key.certificateKey
        )
        let leaf = try ParsedCertificate(certificate)
        let evaluator = TrustEvaluator()
        for (profile, expected) in [(VerificationProfile.strict, ReasonCategory.profileViolation), (.compatible, .ok)] {
            let verdict = evaluator.evaluateNow(TrustEvaluationRequest(
                presented: [leaf], roots: TrustAnchors([root.certificate]), identity: .dns("backend.test"), profile: profile
            ))
            #expect(verdict.category == expected, "\(profile): \(verdict.detail)")
        }
    }

    @Test("SANs: required, CN among them, valid names, no wildcard under a public suffix; CN-only leaves match under compatible")
    func subjectAlternativeNames() throws {
        let root = try CustomCertificate("Root", ca: true)
        let cnOnly = try CustomCertificate("backend.test", issuer: root, ca: false)
        Self.expect([cnOnly], root: root, strict: .hostnameMismatch, compatible: .ok, "CN only, no SAN")
        Self.expect([try Self.leaf("other.test", issuer: root, sans: [.dnsName("backend.test")])], root: root,
                    strict: .profileViolation, compatible: .ok, "CN not among the SANs")
        Self.expect([try Self.leaf("backend.test", issuer: root, sans: [.dnsName("backend.test"), .dnsName("a_b.test")])],
                    root: root, strict: .profileViolation, compatible: .ok, "an underscore in a SAN")
        Self.expect([try Self.leaf("*.co.uk", issuer: root, sans: [.dnsName("*.co.uk")])], root: root, host: "a.co.uk",
                    strict: .hostnameMismatch, compatible: .hostnameMismatch, "a wildcard directly under a public suffix")
        Self.expect([try Self.leaf("*.example.test", issuer: root, sans: [.dnsName("*.example.test")])], root: root,
                    host: "api.example.test", strict: .ok, compatible: .ok, "a proper wildcard")
        Self.expect([try Self.leaf("backend.test", issuer: root, sans: [.dnsName("backend.test")], tweaks: Self.tweaked {
            $0.subjectAlternativeNameCritical = true
        })], root: root, strict: .profileViolation, compatible: .ok, "a critical SAN with a subject")
    }

    @Test("RSA moduli a multiple of 8 bits under strict", .disabled(if: !RSAKeys.oddSizesAvailable, "no RSA-2052 key generation here"))
    func rsaModulus() throws {
        let root = try CustomCertificate("Root", ca: true)
        let odd = try RSAKeys.privateKey(bits: 2052)
        let leaf = try CustomCertificate("backend.test", issuer: root, key: odd, ca: false, sans: [.dnsName("backend.test")])
        Self.expect([leaf], root: root, strict: .profileViolation, compatible: .ok, "RSA-2052")
    }

    // MARK: Path length and time

    @Test("pathLenConstraint: self-issued intermediates do not count; --max-depth counts the same way")
    func pathLength() throws {
        // Below `first` (pathLen 1): the self-issued `rekeyed`, which does not count, and `second`, which does.
        let root = try CustomCertificate("Root", ca: true, pathLength: 2)
        let first = try CustomCertificate("Issuing", issuer: root, ca: true, pathLength: 1)
        // The same CA's new key, certified by its old one: self-issued.
        let rekeyed = try CustomCertificate("Issuing", issuer: first, ca: true, pathLength: 1)
        let second = try CustomCertificate("Second", issuer: rekeyed, ca: true, pathLength: 0)
        let leaf = try Self.leaf(issuer: second)
        Self.expect([leaf, second, rekeyed, first], root: root, strict: .ok, compatible: .ok, "a self-issued CA in the path")
        Self.expect([leaf, second, rekeyed, first], root: root, maxDepth: 2, strict: .ok, compatible: .ok,
                    "two intermediates that count, within --max-depth 2")
        Self.expect([leaf, second, rekeyed, first], root: root, maxDepth: 1, strict: .pathLengthExceeded,
                    compatible: .pathLengthExceeded, "over --max-depth 1")
        let tight = try CustomCertificate("Root", ca: true, pathLength: 0)
        Self.expect([try Self.leaf(issuer: tight)], root: tight, strict: .ok, compatible: .ok, "pathLen 0, no intermediate")
        let below = try CustomCertificate("Intermediate", issuer: tight, ca: true)
        Self.expect([try Self.leaf(issuer: below), below], root: tight, strict: .pathLengthExceeded,
                    compatible: .pathLengthExceeded, "pathLen 0 with one intermediate")
        // A CA as the leaf: its own pathLenConstraint is not applied; strict refuses the CA-as-leaf itself.
        let one = try CustomCertificate("Root", ca: true, pathLength: 1)
        let middle = try CustomCertificate("Intermediate", issuer: one, ca: true)
        let caLeaf = try CustomCertificate("backend.test", issuer: middle, ca: true, pathLength: 0, sans: [.dnsName("backend.test")])
        Self.expect([caLeaf, middle], root: one, strict: .profileViolation, compatible: .ok, "pathLen on a CA leaf")
    }

    @Test("Validity at whole seconds, the fraction floored: notAfter inclusive, notBefore exact")
    func validityResolution() throws {
        let root = try CustomCertificate("Root", ca: true, notBefore: Date(timeIntervalSince1970: 1_000_000), notAfter: Date(timeIntervalSince1970: 4_000_000_000))
        let notBefore = Date(timeIntervalSince1970: 1_800_000_001)
        let notAfter = Date(timeIntervalSince1970: 1_900_000_000)
        let leaf = try Self.leaf(issuer: root, notBefore: notBefore, notAfter: notAfter)
        Self.expect([leaf], root: root, at: notAfter, strict: .ok, compatible: .ok, "at notAfter")
        Self.expect([leaf], root: root, at: notAfter.addingTimeInterval(0.5), strict: .ok, compatible: .ok, "during notAfter's second")
        Self.expect([leaf], root: root, at: notAfter.addingTimeInterval(1), strict: .expired, compatible: .expired, "after it")
        Self.expect([leaf], root: root, at: notBefore, strict: .ok, compatible: .ok, "at notBefore")
        Self.expect([leaf], root: root, at: notBefore.addingTimeInterval(-0.001), strict: .notYetValid, compatible: .notYetValid,
                    "a millisecond before notBefore")
    }
}

/// RSA keys of sizes swift-crypto does not make (for the modulus rule): generated with openssl when it is there.
enum RSAKeys {
    static let oddSizesAvailable: Bool = (try? ProcessRunner.locate("openssl")) != nil

    static func privateKey(bits: Int) throws -> PrivateKeyMaterial {
        let result = try ProcessRunner.run("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:\(bits)"])
        guard result.status == 0 else { throw ProcessRunner.Failure.failed("openssl genpkey: \(result)") }
        guard let key = try CertificateBundle.decode(result.standardOutput).privateKeys.first else {
            throw ProcessRunner.Failure.failed("no key from openssl")
        }
        return key
    }
}
