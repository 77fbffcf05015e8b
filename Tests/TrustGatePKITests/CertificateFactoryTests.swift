import Foundation
import SwiftASN1
import Testing
import TrustGatePKI
import TrustGateTesting
import X509

@Suite("Creating certificates")
struct CertificateFactoryTests {
    static let root = Result { try TestIssuance.root() }

    @Test("Every key type and profile gives a parseable certificate with the profile's extensions",
        arguments: KeyAlgorithm.offered, CertificateProfile.allCases)
    func keyTypeAndProfile(algorithm: KeyAlgorithm, profile: CertificateProfile) throws {
        let root = try Self.root.get()
        let request = CertificateRequest(
            commonName: profile.isCA ? "Test \(profile.rawValue)" : "svc.test",
            keyAlgorithm: algorithm, profile: profile, validity: try TestIssuance.validity()
        )
        let issued = try CertificateFactory.issue(request, issuer: profile.needsIssuer ? root.asAuthority() : nil)
        let certificate = issued.certificate
        let x509 = try #require(certificate.x509)
        #expect(certificate.isCA == profile.isCA)
        #expect(issued.key.matches(certificate))
        #expect(try x509.extensions.subjectKeyIdentifier != nil)
        #expect(try x509.extensions.authorityKeyIdentifier != nil)
        let usage = try #require(try x509.extensions.keyUsage)
        #expect(usage.keyCertSign == profile.isCA)
        #expect(usage.digitalSignature)
        if profile.isCA {
            #expect(certificate.subjectAlternativeNames.isEmpty)
            let constraints = try #require(try x509.extensions.basicConstraints)
            let expected: BasicConstraints = .isCertificateAuthority(maxPathLength: profile == .intermediateCA ? 0 : nil)
            #expect(constraints == expected)
        } else {
            #expect(certificate.subjectAlternativeNames == [.dnsName("svc.test")])
            let usages = try #require(try x509.extensions.extendedKeyUsage)
            #expect(usages.contains(.serverAuth) && usages.contains(.clientAuth))
        }
        if profile.needsIssuer {
            #expect(certificate.isSigned(by: root.certificate))
            #expect(issued.chain.isEmpty, "the root is never part of the chain")
        } else {
            #expect(certificate.isSelfSigned)
        }
        let expectedBits = ["ec-p256": 256, "ec-p384": 384, "rsa-2048": 2048, "rsa-3072": 3072, "rsa-4096": 4096,
                            "ed25519": 256][algorithm.rawValue]
        #expect(certificate.publicKey.bits == expectedBits)
    }

    @Test("Serial numbers are positive, 16 significant bytes, and differ")
    func serials() throws {
        var seen = Set<[UInt8]>()
        for _ in 0..<20 {
            let issued = try CertificateFactory.issue(
                CertificateRequest(commonName: "a.test", validity: try TestIssuance.validity())
            )
            let serial = issued.certificate.serialNumber
            #expect(try Self.encodedSerial(issued.certificate.der).first.map { $0 & 0x80 == 0 } == true,
                    "the DER INTEGER is positive")
            #expect(serial.drop(while: { $0 == 0 }).count == 16)
            seen.insert(serial)
        }
        #expect(seen.count == 20)
    }

    /// The content octets of the serialNumber INTEGER, sign byte included.
    static func encodedSerial(_ der: [UInt8]) throws -> [UInt8] {
        try DER.sequence(DER.parse(der), identifier: .sequence) { nodes in
            let first = nodes.next()
            while nodes.next() != nil {}
            let tbs = try #require(first)
            return try DER.sequence(tbs, identifier: .sequence) { fields in
                _ = fields.next()  // [0] version
                let second = fields.next()
                while fields.next() != nil {}
                let serial = try #require(second)
                guard case .primitive(let content) = serial.content else { return [] }
                return Array(content)
            }
        }
    }

    @Test("SANs are typed from their form; the CN joins them")
    func subjectAlternativeNames() throws {
        let names = try ["10.0.0.4", "::1", "email:ops@example.test", "uri:spiffe://example/ns", "*.svc.test",
                         "admin@example.test", "https://example.test/x"].map(SubjectAlternativeName.parse)
        let issued = try CertificateFactory.issue(
            CertificateRequest(commonName: "backend.test", subjectAlternativeNames: names,
                               validity: try TestIssuance.validity())
        )
        let display = issued.certificate.subjectAlternativeNames.map(SubjectAlternativeName.display)
        #expect(display == ["DNS:backend.test", "IP:10.0.0.4", "IP:::1", "email:ops@example.test",
                            "URI:spiffe://example/ns", "DNS:*.svc.test", "email:admin@example.test",
                            "URI:https://example.test/x"])
    }

    @Test("Invalid SANs are refused", arguments: ["*.test", "a.*.test", "bad_host!.test", "", "-x.test", "x..test",
                                                 "foo*.example.test", "ip:300.1.1.1", "email:nobody"])
    func invalidSAN(text: String) {
        #expect(throws: PKIError.self) { try SubjectAlternativeName.parse(text) }
    }

    @Test("A leaf needs an issuer; an end-entity needs a host name")
    func requestErrors() throws {
        let validity = try TestIssuance.validity()
        let leaf = #expect(throws: PKIError.self) {
            try CertificateFactory.issue(CertificateRequest(commonName: "a.test", profile: .leaf, validity: validity))
        }
        #expect(leaf?.code == .invalidRequest)
        let noName = #expect(throws: PKIError.self) {
            try CertificateFactory.issue(CertificateRequest(commonName: "My Service", validity: validity))
        }
        #expect(noName?.reason.contains("--san") == true)
        // A CN that is not a host name is fine when a SAN is given.
        let named = try CertificateFactory.issue(
            CertificateRequest(commonName: "My Service", subjectAlternativeNames: [.dnsName("svc.test")],
                               validity: validity)
        )
        #expect(named.certificate.commonNames == ["My Service"])
    }

    @Test("A non-CA or a mismatched key cannot sign")
    func issuerChecks() throws {
        let root = try TestIssuance.root()
        let leaf = try TestIssuance.leaf(issuer: root)
        #expect(throws: PKIError.self) { try leaf.asAuthority() }
        #expect(throws: PKIError.self) {
            try CertificateAuthority(certificate: root.certificate, key: try KeyAlgorithm.ecP256.generate())
        }
    }

    @Test("Validity: durations, RFC 3339, and a past not-after")
    func validityParsing() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(try ValidityPeriod.parseTime("90d", now: now) == now.addingTimeInterval(90 * 86400))
        #expect(try ValidityPeriod.parseTime("-1d", now: now) == now.addingTimeInterval(-86400))
        #expect(try ValidityPeriod.parseTime("2y", now: now) == now.addingTimeInterval(2 * 365 * 86400))
        #expect(try ValidityPeriod.parseTime("2027-01-31T12:00:00Z", now: now)
                == Date(timeIntervalSince1970: 1_801_396_800))
        #expect(try ValidityPeriod.parseTime("2027-01-31", now: now) == Date(timeIntervalSince1970: 1_801_353_600))
        #expect(throws: PKIError.self) { try ValidityPeriod.parseTime("next tuesday", now: now) }
        #expect(throws: PKIError.self) { try ValidityPeriod(notBefore: now, notAfter: now.addingTimeInterval(-1)) }
        let expired = try CertificateFactory.issue(CertificateRequest(
            commonName: "old.test",
            validity: try ValidityPeriod(notBefore: Date().addingTimeInterval(-400 * 86400),
                                         notAfter: Date().addingTimeInterval(-30 * 86400))))
        #expect(expired.certificate.notAfter < Date())
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_801_396_800)) == "2027-01-31T12:00:00Z")
    }

    @Test("RFC 3339 stamps by arithmetic agree with Foundation's ISO 8601 formatter from 1950 to 9999, fractions dropped")
    func stamps() {
        let reference = ISO8601DateFormatter()
        reference.formatOptions = [.withInternetDateTime]
        reference.timeZone = TimeZone(identifier: "UTC")
        var generator = XorShift(seed: 3339)
        let first = -631_152_000.0, last = 253_402_300_799.0  // 1950-01-01 and 9999-12-31T23:59:59Z
        var dates = [first, last, 0, 951_782_400, 1_801_396_800.999].map(Date.init(timeIntervalSince1970:))
        for _ in 0..<2_000 {
            dates.append(Date(timeIntervalSince1970: (first + Double(generator.next() % UInt64(last - first))).rounded(.down)
                              + Double(generator.next() % 1000) / 1000))
        }
        for date in dates {
            let whole = Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
            #expect(RFC3339.format(date) == reference.string(from: whole), "\(date.timeIntervalSince1970)")
        }
        #expect(RFC3339.formatMilliseconds(Date(timeIntervalSince1970: 1_801_396_800.25)) == "2027-01-31T12:00:00.250Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: .nan)) == "1970-01-01T00:00:00Z", "never a trap")
    }

    @Test("Validity times by arithmetic: Foundation's Gregorian calendar from 1583 to 9999; proleptic before, as OpenSSL")
    func civilTimes() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        var generator = XorShift(seed: 5280)
        var samples = [(1583, 1, 1), (1600, 2, 29), (1900, 2, 28), (1970, 1, 1), (2000, 2, 29), (2049, 12, 31), (9999, 12, 31)]
        for _ in 0..<2_000 {
            let month = Int(generator.next() % 12) + 1
            let year = Int(generator.next() % (9999 - 1583)) + 1583  // Foundation is Julian before 1582-10-15
            let days = try #require(calendar.range(of: .day, in: .month,
                                                   for: calendar.date(from: DateComponents(year: year, month: month)) ?? Date()))
            samples.append((year, month, Int(generator.next() % UInt64(days.count)) + 1))
        }
        for (year, month, day) in samples {
            let (hour, minute, second) = (Int(generator.next() % 24), Int(generator.next() % 60), Int(generator.next() % 60))
            let expected = calendar.date(from: DateComponents(year: year, month: month, day: day,
                                                              hour: hour, minute: minute, second: second))
            let made = UTCDate.make(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
            #expect(made == expected, "\(year)-\(month)-\(day) \(hour):\(minute):\(second)")
        }
        // Proleptic Gregorian, as OpenSSL and RFC 5280 count: 0001-01-01 is 62,135,596,800 s before 1970.
        #expect(UTCDate.make(year: 1, month: 1, day: 1, hour: 0, minute: 0, second: 0).timeIntervalSince1970 == -62_135_596_800)
        #expect(UTCDate.make(year: 0, month: 3, day: 1, hour: 0, minute: 0, second: 0).timeIntervalSince1970 == -62_162_035_200)
    }
}
