import Foundation
import SwiftASN1
import Testing
import TrustGatePKI
import TrustGateTesting
import X509

@Suite("The trust evaluator: verdicts and reason categories")
struct TrustEvaluatorTests {
    let evaluator = TrustEvaluator()

    func verdict(
        _ presented: [ParsedCertificate], roots: [ParsedCertificate], intermediates: [ParsedCertificate] = [],
        host: String? = "backend.test", at time: Date = Date(), maxDepth: Int = 8, purpose: CertificatePurpose = .server
    ) async -> TrustVerdict {
        await evaluator.evaluate(TrustEvaluationRequest(
            presented: presented, roots: TrustAnchors(roots), intermediates: intermediates,
            identity: host.map(ServerIdentity.init), time: time, maximumIntermediates: maxDepth, purpose: purpose))
    }

    @Test("Every test-PKI backend gets the verdict its README promises")
    func testPKIMatrix() async throws {
        let pki = try TestPKI()
        for scenario in TestPKI.scenarios {
            let file = try #require(pki.files.first { $0.name == "backend-\(scenario.name).pem" })
            let presented = try CertificateBundle.decode(file.contents).certificates
            let result = await verdict(presented, roots: [pki.root.certificate])
            #expect(result.category == scenario.category, "\(scenario.name): \(result.detail)")
        }
        let listener = try #require(pki.files.first { $0.name == "gateway-listener.pem" })
        let ok = await verdict(try CertificateBundle.decode(listener.contents).certificates,
                               roots: [pki.root.certificate], host: "gateway.test")
        #expect(ok.isTrusted, "\(ok.detail)")
        #expect(ok.chain.count == 3)
    }

    @Test("Expired and not-yet-valid name the certificate, including an intermediate")
    func validityNamesTheCertificate() async throws {
        let root = try CustomCertificate("Root", ca: true)
        let expiredCA = try CustomCertificate("Old Intermediate", issuer: root, ca: true,
                                              notBefore: .now.addingTimeInterval(-400 * 86400),
                                              notAfter: .now.addingTimeInterval(-86400))
        let leaf = try CustomCertificate("backend.test", issuer: expiredCA, ca: false, sans: [.dnsName("backend.test")],
                                         notBefore: .now.addingTimeInterval(-10 * 86400))
        let result = await verdict([leaf.certificate, expiredCA.certificate], roots: [root.certificate])
        #expect(result.category == .expired)
        #expect(result.detail.contains("CN=Old Intermediate expired"))
        let later = await verdict([leaf.certificate, expiredCA.certificate], roots: [root.certificate],
                                  at: .now.addingTimeInterval(-200 * 86400))
        #expect(later.category == .notYetValid, "the leaf did not exist yet: \(later.detail)")
    }

    @Test("An expired intermediate is passed over for a valid cross-signed alternate")
    func expiredIntermediateWithAlternatePath() async throws {
        let oldRoot = try CustomCertificate("Old Root", ca: true)
        let newRoot = try CustomCertificate("New Root", ca: true)
        let intermediateKey = try KeyAlgorithm.ecP256.generate()
        let expiredVersion = try CustomCertificate("Issuing CA", issuer: oldRoot, key: intermediateKey, ca: true,
                                                   notBefore: .now.addingTimeInterval(-90 * 86400),
                                                   notAfter: .now.addingTimeInterval(-86400))
        let currentVersion = try CustomCertificate("Issuing CA", issuer: newRoot, key: intermediateKey, ca: true)
        let leaf = try CustomCertificate("backend.test", issuer: currentVersion, ca: false, sans: [.dnsName("backend.test")])
        let result = await verdict([leaf.certificate, expiredVersion.certificate], roots: [oldRoot.certificate, newRoot.certificate],
                                   intermediates: [currentVersion.certificate])
        #expect(result.isTrusted, "\(result.detail)")
        #expect(result.chain.last?.subject == newRoot.certificate.subject)
        let onlyExpired = await verdict([leaf.certificate, expiredVersion.certificate], roots: [oldRoot.certificate])
        #expect(onlyExpired.category == .expired)
    }

    @Test("Intermediates duplicated, 60 superfluous extra ones searched within the work bound; 63 presented is too-complex")
    func superfluousIntermediates() async throws {
        let root = try CustomCertificate("Root", ca: true)
        let intermediate = try CustomCertificate("Intermediate", issuer: root, ca: true)
        let leaf = try CustomCertificate("backend.test", issuer: intermediate, ca: false, sans: [.dnsName("backend.test")])
        var noise: [ParsedCertificate] = []
        let noiseRoot = try CustomCertificate("Noise Root", ca: true)
        for index in 0..<30 {
            noise.append(try CustomCertificate("Noise \(index)", issuer: noiseRoot, ca: true).certificate)
            // Same name as the real intermediate, other key: a candidate issuer whose signature never verifies.
            noise.append(try CustomCertificate("Intermediate", issuer: noiseRoot, ca: true).certificate)
        }
        let result = await verdict([leaf.certificate, intermediate.certificate, intermediate.certificate],
                                   roots: [root.certificate], intermediates: noise + [intermediate.certificate])
        #expect(result.isTrusted, "\(result.detail)")
        // Only impostors: the bound stops the search and the answer is a rejection, not a hang.
        let impostors = await verdict([leaf.certificate], roots: [root.certificate], intermediates: noise)
        #expect(!impostors.isTrusted)
        #expect([.badSignature, .tooComplex, .untrustedRoot].contains(impostors.category), "\(impostors.detail)")
        // A peer presenting all of them is over the presented-chain bound, judged before any signature.
        let presented = [leaf.certificate] + noise + [intermediate.certificate, intermediate.certificate]
        let capped = await verdict(presented, roots: [root.certificate])
        #expect(capped.category == .tooComplex, "\(capped.detail)")
    }

    @Test("Leaf not first")
    func leafNotFirst() async throws {
        let root = try CustomCertificate("Root", ca: true)
        let intermediate = try CustomCertificate("Intermediate", issuer: root, ca: true)
        let leaf = try CustomCertificate("backend.test", issuer: intermediate, ca: false, sans: [.dnsName("backend.test")])
        let result = await verdict([intermediate.certificate, leaf.certificate], roots: [root.certificate])
        #expect(result.category == .leafNotFirst)
    }

    @Test("Path length: pathLenConstraint 0 and --max-depth")
    func pathLength() async throws {
        let root = try CustomCertificate("Root", ca: true, pathLength: 0)
        let intermediate = try CustomCertificate("Intermediate", issuer: root, ca: true)
        let leaf = try CustomCertificate("backend.test", issuer: intermediate, ca: false, sans: [.dnsName("backend.test")])
        let result = await verdict([leaf.certificate, intermediate.certificate], roots: [root.certificate])
        #expect(result.category == .pathLengthExceeded, "\(result.detail)")
        let open = try CustomCertificate("Open Root", ca: true)
        let first = try CustomCertificate("First", issuer: open, ca: true)
        let second = try CustomCertificate("Second", issuer: first, ca: true)
        let deep = try CustomCertificate("backend.test", issuer: second, ca: false, sans: [.dnsName("backend.test")])
        let limited = await verdict([deep.certificate, second.certificate, first.certificate], roots: [open.certificate],
                                    maxDepth: 1)
        #expect(limited.category == .pathLengthExceeded)
        let allowed = await verdict([deep.certificate, second.certificate, first.certificate], roots: [open.certificate])
        #expect(allowed.isTrusted, "\(allowed.detail)")
    }

    @Test("A CA without CA:TRUE cannot issue")
    func notACA() async throws {
        let root = try CustomCertificate("Root", ca: true)
        let fake = try CustomCertificate("Not A CA", issuer: root, ca: false, keyUsage: KeyUsage(digitalSignature: true, keyCertSign: true))
        let leaf = try CustomCertificate("backend.test", issuer: fake, ca: false, sans: [.dnsName("backend.test")])
        let result = await verdict([leaf.certificate, fake.certificate], roots: [root.certificate])
        #expect(result.category == .notACA, "\(result.detail)")
    }

    @Test("Name constraints: permitted and excluded DNS and IP subtrees")
    func nameConstraints() async throws {
        let permitted = NameConstraints(permittedDNSDomains: ["internal.test"], excludedDNSDomains: ["bad.internal.test"],
                                            permittedIPRanges: [], excludedIPRanges: [ASN1OctetString(contentBytes: [10, 0, 0, 0, 255, 0, 0, 0])])
        let root = try CustomCertificate("Constrained Root", ca: true, nameConstraints: permitted)
        func leaf(_ names: [GeneralName]) throws -> ParsedCertificate {
            guard case .dnsName(let first) = names.first else { throw PKIError.invalidRequest("a DNS name first") }
            return try CustomCertificate(first, issuer: root, ca: false, sans: names).certificate
        }
        let inside = await verdict([try leaf([.dnsName("api.internal.test")])], roots: [root.certificate], host: "api.internal.test")
        #expect(inside.isTrusted, "\(inside.detail)")
        let outside = await verdict([try leaf([.dnsName("api.example.test")])], roots: [root.certificate], host: "api.example.test")
        #expect(outside.category == .nameConstraintViolation, "\(outside.detail)")
        let excluded = await verdict([try leaf([.dnsName("x.bad.internal.test")])], roots: [root.certificate], host: "x.bad.internal.test")
        #expect(excluded.category == .nameConstraintViolation, "\(excluded.detail)")
        let excludedIP = await verdict([try leaf([.dnsName("ok.internal.test"), .ipAddress(ASN1OctetString(contentBytes: [10, 1, 2, 3]))])],
                                       roots: [root.certificate], host: "ok.internal.test")
        #expect(excludedIP.category == .nameConstraintViolation, "\(excludedIP.detail)")
    }

    @Test("Key usage and extended key usage")
    func keyUsages() async throws {
        let root = try CustomCertificate("Root", ca: true)
        let clientOnly = try CustomCertificate("backend.test", issuer: root, ca: false, sans: [.dnsName("backend.test")],
                                               extendedKeyUsage: [.clientAuth])
        let asServer = await verdict([clientOnly.certificate], roots: [root.certificate])
        #expect(asServer.category == .badKeyUsage, "\(asServer.detail)")
        let asClient = await verdict([clientOnly.certificate], roots: [root.certificate], host: nil, purpose: .client)
        #expect(asClient.isTrusted, "\(asClient.detail)")
        let noSign = try CustomCertificate("No Sign CA", issuer: root, ca: true, keyUsage: KeyUsage(digitalSignature: true, cRLSign: true))
        let leaf = try CustomCertificate("backend.test", issuer: noSign, ca: false, sans: [.dnsName("backend.test")])
        let result = await verdict([leaf.certificate, noSign.certificate], roots: [root.certificate])
        #expect(result.category == .badKeyUsage, "\(result.detail)")
    }

    @Test("SHA-1 signatures below the root are weak; a SHA-1 self-signed root is not held against the chain")
    func weakSignature() async throws {
        let root = try CustomCertificate("RSA Root", ca: true, signatureAlgorithm: .sha1WithRSAEncryption, keyAlgorithm: .rsa2048)
        let leaf = try CustomCertificate("backend.test", issuer: root, ca: false, sans: [.dnsName("backend.test")],
                                         signatureAlgorithm: .sha1WithRSAEncryption)
        let result = await verdict([leaf.certificate], roots: [root.certificate])
        #expect(result.category == .weakKey, "\(result.detail)")
        #expect(result.problems.count == 1, "only the leaf's signature counts: \(result.problems)")
    }

    @Test("A forged signature is bad-signature")
    func badSignature() async throws {
        let root = try CustomCertificate("Root", ca: true)
        let forger = try CustomCertificate("Root", ca: true)  // same name, other key
        let leaf = try CustomCertificate("backend.test", issuer: forger, ca: false, sans: [.dnsName("backend.test")])
        let result = await verdict([leaf.certificate], roots: [root.certificate])
        #expect(result.category == .badSignature, "\(result.detail)")
    }

    @Test("Well-known mode reports not-well-known-ca")
    func wellKnown() async throws {
        let root = try CustomCertificate("Private Root", ca: true)
        let leaf = try CustomCertificate("backend.test", issuer: root, ca: false, sans: [.dnsName("backend.test")])
        let anchors = TrustAnchors([], isWellKnownStore: true)
        let result = await evaluator.evaluate(TrustEvaluationRequest(
            presented: [leaf.certificate, root.certificate], roots: anchors, identity: .dns("backend.test")))
        #expect(result.category == .notWellKnownCA)
    }

    @Test("Several problems: the first to fix is the category, the rest are listed")
    func severalProblems() async throws {
        let root = try CustomCertificate("Root", ca: true)
        let leaf = try CustomCertificate("other.test", issuer: root, ca: false, sans: [.dnsName("other.test")],
                                         notBefore: .now.addingTimeInterval(-90 * 86400), notAfter: .now.addingTimeInterval(-86400))
        let result = await verdict([leaf.certificate], roots: [root.certificate])
        #expect(result.category == .expired)
        #expect(result.problems.map(\.category) == [.expired, .hostnameMismatch])
        #expect(result.detail.contains("also: hostname-mismatch"))
    }
}

@Suite("Server identity (RFC 6125 / CA/B)")
struct HostnameMatcherTests {
    static func certificate(_ names: [GeneralName], cn: String = "cn.test") throws -> ParsedCertificate {
        try CustomCertificate(cn, ca: false, sans: names).certificate
    }

    @Test("Wildcards: only the whole left-most label, one label deep, never under a public suffix")
    func wildcards() {
        #expect(HostnameMatcher.dnsPattern("*.example.test", matches: "api.example.test"))
        #expect(HostnameMatcher.dnsPattern("*.EXAMPLE.test", matches: "api.example.test"))
        #expect(!HostnameMatcher.dnsPattern("*.example.test", matches: "a.b.example.test"))
        #expect(!HostnameMatcher.dnsPattern("*.example.test", matches: "example.test"))
        #expect(!HostnameMatcher.dnsPattern("a*.example.test", matches: "ab.example.test"))
        #expect(!HostnameMatcher.dnsPattern("api.*.test", matches: "api.example.test"))
        #expect(!HostnameMatcher.dnsPattern("*.test", matches: "example.test"))
        #expect(!HostnameMatcher.dnsPattern("*.co.uk", matches: "example.co.uk"))
        #expect(HostnameMatcher.dnsPattern("*.example.co.uk", matches: "www.example.co.uk"))
        #expect(HostnameMatcher.dnsPattern("backend.test.", matches: "backend.test"))
    }

    @Test("SAN before CN; IP SANs only match IPs (IPv4 and IPv6)")
    func sanRules() throws {
        let withSAN = try Self.certificate([.dnsName("san.test")], cn: "cn.test")
        #expect(HostnameMatcher.matches(withSAN, .dns("san.test")))
        #expect(!HostnameMatcher.matches(withSAN, .dns("cn.test")), "the CN is ignored when there are SANs")
        let cnOnly = try Self.certificate([], cn: "legacy.test")
        #expect(HostnameMatcher.matches(cnOnly, .dns("legacy.test")))
        let ipv6 = try #require(IPAddressBytes.parse("2001:db8::1"))
        let ipCert = try Self.certificate([.ipAddress(ASN1OctetString(contentBytes: ipv6[...])), .dnsName("10.0.0.1")])
        #expect(HostnameMatcher.matches(ipCert, ServerIdentity("2001:db8::1")))
        #expect(HostnameMatcher.matches(ipCert, ServerIdentity("2001:0db8:0000::0001")))
        #expect(!HostnameMatcher.matches(ipCert, ServerIdentity("10.0.0.1")), "a DNS SAN never matches an IP")
        #expect(!HostnameMatcher.matches(ipCert, .dns("2001:db8::1")))
    }
}

@Suite("The verdict cache")
struct VerdictCacheTests {
    @Test("Same answer from the cache; a cached acceptance is not reused once a certificate has expired")
    func cacheRespectsValidity() async throws {
        let root = try CustomCertificate("Root", ca: true)
        let leaf = try CustomCertificate("backend.test", issuer: root, ca: false, sans: [.dnsName("backend.test")],
                                         notBefore: .now.addingTimeInterval(-86400), notAfter: .now.addingTimeInterval(3600))
        let cache = VerdictCache()
        let evaluator = TrustEvaluator()
        var request = TrustEvaluationRequest(presented: [leaf.certificate], roots: TrustAnchors([root.certificate]),
                                             identity: .dns("backend.test"))
        #expect(await cache.verdict(for: request, evaluator: evaluator).isTrusted)
        #expect(await cache.verdict(for: request, evaluator: evaluator).isTrusted)
        #expect(cache.count == 1)
        request.time = Date().addingTimeInterval(7200)
        #expect(await cache.verdict(for: request, evaluator: evaluator).category == .expired)
        var otherHost = request
        otherHost.time = Date()
        otherHost.identity = .dns("other.test")
        #expect(await cache.verdict(for: otherHost, evaluator: evaluator).category == .hostnameMismatch)
    }
}
