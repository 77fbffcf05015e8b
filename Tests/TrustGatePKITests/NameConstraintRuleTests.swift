import Foundation
import SwiftASN1
import Testing
import TrustGatePKI
import TrustGateTesting
import X509

/// Name constraints (RFC 5280 §4.2.1.10 and §6.1.4(g)), one test per rule, in every name form: DNS, IP, e-mail,
/// URI and directory names, wildcard SANs against both kinds of subtree, malformed constraints and names, and the
/// work bound. Name constraints are the same under both profiles; each expectation gives both.
@Suite("Name constraints: every form, wildcards, malformed constraints, budgets")
struct NameConstraintRuleTests {
    typealias Tweaks = CustomCertificate.Tweaks

    static let root: CustomCertificate = {
        do { return try CustomCertificate("Root", ca: true) } catch { preconditionFailure("test root: \(error)") }
    }()

    /// An intermediate under the test root with `constraints`.
    static func constrained(_ constraints: NameConstraints, name: String = "Constrained CA") throws -> CustomCertificate {
        try CustomCertificate(name, issuer: root, ca: true, nameConstraints: constraints)
    }

    /// An intermediate whose nameConstraints value is exactly `value` (critical), for encodings swift-certificates
    /// would not write.
    static func constrained(raw value: [UInt8]) throws -> CustomCertificate {
        try CustomCertificate("Constrained CA", issuer: root, ca: true, tweaks: PathValidationRuleTests.tweaked {
            $0.extra = [CustomCertificate.rawExtension([2, 5, 29, 30], critical: true, value: value)]
        })
    }

    static func leaf(
        _ sans: [GeneralName], cn: String = "backend.test", subject: DistinguishedName? = nil, issuer: CustomCertificate
    ) throws -> CustomCertificate {
        try CustomCertificate(cn, issuer: issuer, ca: false, sans: sans, tweaks: PathValidationRuleTests.tweaked {
            $0.subjectName = subject
        })
    }

    /// Expects `category` under both profiles for `leaf` issued by `ca` (a host name only where one is asked).
    static func expect(
        _ leaf: CustomCertificate, under ca: CustomCertificate, host: String? = nil, _ category: ReasonCategory,
        _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        PathValidationRuleTests.expect([leaf, ca], root: root, host: host, strict: category, compatible: category, comment,
                                       sourceLocation: sourceLocation)
    }

    /// Under compatible only (for names the server profile refuses on its own, such as an underscore).
    static func expectCompatible(
        _ leaf: CustomCertificate, under ca: CustomCertificate, _ category: ReasonCategory, _ comment: Comment,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let result = PathValidationRuleTests.categories([leaf, ca], root: root, host: nil)
        #expect(result.compatible == category, "\(comment): got \(result.compatible); \(result.details)",
                sourceLocation: sourceLocation)
    }

    // DER helpers for raw constraints.
    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        precondition(content.count < 0x1_0000)
        if content.count < 0x80 { return [tag, UInt8(content.count)] + content }
        if content.count < 0x100 { return [tag, 0x81, UInt8(content.count)] + content }
        return [tag, 0x82, UInt8(content.count >> 8), UInt8(content.count & 0xFF)] + content
    }

    static func subtree(dns: String) -> [UInt8] { tlv(0x30, tlv(0x82, Array(dns.utf8))) }
    static func subtree(ip: [UInt8]) -> [UInt8] { tlv(0x30, tlv(0x87, ip)) }
    /// Permitted example.test with `range` (a minimum or maximum field) after the base.
    static func constraint(ranged range: [UInt8]) -> [UInt8] {
        tlv(0x30, tlv(0xA0, tlv(0x30, tlv(0x82, Array("example.test".utf8)) + range)))
    }

    static func distinguishedName(_ attributes: [(ASN1ObjectIdentifier, String)]) -> DistinguishedName {
        DistinguishedName(attributes.map { oid, value in
            RelativeDistinguishedName(RelativeDistinguishedName.Attribute(type: oid, utf8String: value))
        })
    }

    // MARK: DNS

    @Test("dNSName: permitted subtrees admit the name and names below it, at a label boundary")
    func dnsPermitted() throws {
        let ca = try Self.constrained(NameConstraints(permittedDNSDomains: ["example.test"]))
        Self.expect(try Self.leaf([.dnsName("api.example.test")], cn: "api.example.test", issuer: ca), under: ca, .ok, "below")
        Self.expect(try Self.leaf([.dnsName("example.test")], cn: "example.test", issuer: ca), under: ca, .ok, "the subtree itself")
        Self.expect(try Self.leaf([.dnsName("API.Example.TEST")], cn: "API.Example.TEST", issuer: ca), under: ca, .ok,
                    "case-insensitive")
        Self.expect(try Self.leaf([.dnsName("api.other.test")], cn: "api.other.test", issuer: ca), under: ca,
                    .nameConstraintViolation, "outside")
        Self.expect(try Self.leaf([.dnsName("badexample.test")], cn: "badexample.test", issuer: ca), under: ca,
                    .nameConstraintViolation, "a suffix that is not a label boundary")
        Self.expect(try Self.leaf([.dnsName("api.example.test"), .dnsName("api.other.test")], cn: "api.example.test", issuer: ca),
                    under: ca, .nameConstraintViolation, "one SAN outside is enough")
    }

    @Test("dNSName: excluded subtrees refuse the name and names below it, on leaves and intermediates")
    func dnsExcluded() throws {
        let ca = try Self.constrained(NameConstraints(excludedDNSDomains: ["secret.example.test"]))
        Self.expect(try Self.leaf([.dnsName("secret.example.test")], cn: "secret.example.test", issuer: ca), under: ca,
                    .nameConstraintViolation, "the excluded name")
        Self.expect(try Self.leaf([.dnsName("x.secret.example.test")], cn: "x.secret.example.test", issuer: ca), under: ca,
                    .nameConstraintViolation, "below it")
        Self.expect(try Self.leaf([.dnsName("notsecret.example.test")], cn: "notsecret.example.test", issuer: ca), under: ca,
                    .ok, "a name that merely ends the same")
        // Excluded beats permitted.
        let both = try Self.constrained(NameConstraints(permittedDNSDomains: ["example.test"], excludedDNSDomains: ["secret.example.test"]))
        Self.expect(try Self.leaf([.dnsName("a.secret.example.test")], cn: "a.secret.example.test", issuer: both), under: both,
                    .nameConstraintViolation, "permitted and excluded")
        // The root's constraints reach every certificate below it, whatever the intermediate says.
        let constrainedRoot = try CustomCertificate("Constrained Root", ca: true,
                                                    nameConstraints: NameConstraints(permittedDNSDomains: ["example.test"]))
        let wider = try CustomCertificate("Wider CA", issuer: constrainedRoot, ca: true,
                                          nameConstraints: NameConstraints(permittedDNSDomains: ["other.test"]))
        let leaf = try Self.leaf([.dnsName("api.other.test")], cn: "api.other.test", issuer: wider)
        PathValidationRuleTests.expect([leaf, wider], root: constrainedRoot, host: nil, strict: .nameConstraintViolation,
                                       compatible: .nameConstraintViolation, "an intermediate cannot widen its issuer's subtrees")
    }

    @Test("Wildcard SANs: within a permitted subtree only if every name they match is; excluded if any is (CVE-2025-61727)")
    func wildcards() throws {
        let excluding = try Self.constrained(NameConstraints(excludedDNSDomains: ["admin.example.test"]))
        Self.expect(try Self.leaf([.dnsName("*.example.test")], cn: "*.example.test", issuer: excluding), under: excluding,
                    host: "www.example.test", .nameConstraintViolation, "*.example.test can be admin.example.test")
        Self.expect(try Self.leaf([.dnsName("*.example.test")], cn: "*.example.test", issuer: excluding), under: excluding,
                    .nameConstraintViolation, "the same with no host name asked")
        let deeper = try Self.constrained(NameConstraints(excludedDNSDomains: ["a.admin.example.test"]))
        Self.expect(try Self.leaf([.dnsName("*.example.test")], cn: "*.example.test", issuer: deeper), under: deeper, .ok,
                    "a wildcard cannot stand for two labels")
        let excludingParent = try Self.constrained(NameConstraints(excludedDNSDomains: ["example.test"]))
        Self.expect(try Self.leaf([.dnsName("*.example.test")], cn: "*.example.test", issuer: excludingParent),
                    under: excludingParent, .nameConstraintViolation, "the wildcard's base excluded")
        let narrow = try Self.constrained(NameConstraints(permittedDNSDomains: ["api.example.test"]))
        Self.expect(try Self.leaf([.dnsName("*.example.test")], cn: "*.example.test", issuer: narrow), under: narrow,
                    .nameConstraintViolation, "a wildcard wider than the permitted subtree")
        let broad = try Self.constrained(NameConstraints(permittedDNSDomains: ["example.test"]))
        Self.expect(try Self.leaf([.dnsName("*.example.test")], cn: "*.example.test", issuer: broad), under: broad,
                    host: "api.example.test", .ok, "a wildcard within the permitted subtree")
    }

    @Test("Malformed DNS constraints and names: leading period, wildcard constraint, underscore SAN")
    func dnsMalformed() throws {
        for bad in [".example.test", "*.example.test", "exa mple.test"] {
            let ca = try Self.constrained(NameConstraints(permittedDNSDomains: [bad]))
            Self.expect(try Self.leaf([.dnsName("api.example.test")], cn: "api.example.test", issuer: ca), under: ca,
                        .nameConstraintViolation, "permitted constraint \(bad.debugDescription)")
            let excluding = try Self.constrained(NameConstraints(excludedDNSDomains: [bad]))
            Self.expect(try Self.leaf([.dnsName("api.other.test")], cn: "api.other.test", issuer: excluding), under: excluding,
                        .nameConstraintViolation, "excluded constraint \(bad.debugDescription)")
        }
        let ca = try Self.constrained(NameConstraints(permittedDNSDomains: ["example.test"]))
        Self.expectCompatible(try Self.leaf([.dnsName("a_b.example.test")], cn: "a_b.example.test", issuer: ca), under: ca,
                              .nameConstraintViolation, "an underscore SAN under a DNS constraint")
        let excluding = try Self.constrained(NameConstraints(excludedDNSDomains: ["other.test"]))
        Self.expectCompatible(try Self.leaf([.dnsName("a_b.example.test")], cn: "a_b.example.test", issuer: excluding),
                              under: excluding, .nameConstraintViolation, "an underscore SAN under an excluded subtree")
        let ipOnly = try Self.constrained(NameConstraints(permittedIPRanges: [ASN1OctetString(contentBytes: [10, 0, 0, 0, 255, 0, 0, 0])]))
        Self.expectCompatible(try Self.leaf([.dnsName("a_b.example.test")], cn: "a_b.example.test", issuer: ipOnly), under: ipOnly,
                              .ok, "an underscore SAN with no DNS constraint (compatible)")
    }

    @Test("Empty subtree lists are refused; neither list, a minimum or a maximum do not parse")
    func emptySequences() throws {
        let leafSANs: [GeneralName] = [.dnsName("api.example.test")]
        let cases: [([UInt8], String)] = [
            ([0x30, 0x02, 0xA0, 0x00], "empty permitted subtrees"),
            ([0x30, 0x02, 0xA1, 0x00], "empty excluded subtrees"),
            ([0x30, 0x04, 0xA0, 0x00, 0xA1, 0x00], "both empty"),
        ]
        for (value, comment) in cases {
            let ca = try Self.constrained(raw: value)
            Self.expect(try Self.leaf(leafSANs, cn: "api.example.test", issuer: ca), under: ca, .nameConstraintViolation,
                        Comment(rawValue: comment))
        }
        // Neither list, a minimum or a maximum: swift-certificates refuses the extension, so the certificate does not
        // even parse (a chain holding it is `malformed`).
        #expect(throws: (any Error).self, "neither list") { try Self.constrained(raw: [0x30, 0x00]) }
        #expect(throws: (any Error).self, "a maximum") { try Self.constrained(raw: Self.constraint(ranged: [0x81, 0x01, 0x02])) }
        #expect(throws: (any Error).self, "a minimum of 1") {
            try Self.constrained(raw: Self.constraint(ranged: [0x80, 0x01, 0x01]))
        }
        let valid = try Self.constrained(raw: Self.tlv(0x30, Self.tlv(0xA0, Self.subtree(dns: "example.test"))))
        Self.expect(try Self.leaf(leafSANs, cn: "api.example.test", issuer: valid), under: valid, .ok, "the same encoding, valid")
    }

    // MARK: Directory names

    @Test("directoryName: permitted by RDN prefix (case and spaces folded), excluded subtrees refuse")
    func directoryNames() throws {
        let org = Self.distinguishedName([(.RDNAttributeType.countryName, "DE"), (.RDNAttributeType.organizationName, "Example Corp")])
        let ca = try Self.constrained(NameConstraints(permittedSubtrees: [.directoryName(org)]))
        let inside = Self.distinguishedName([
            (.RDNAttributeType.countryName, "DE"), (.RDNAttributeType.organizationName, "Example Corp"),
            (.RDNAttributeType.commonName, "backend.test"),
        ])
        Self.expect(try Self.leaf([.dnsName("backend.test")], subject: inside, issuer: ca), under: ca, .ok,
                    "the subject below the permitted DN")
        let folded = Self.distinguishedName([
            (.RDNAttributeType.countryName, "de"), (.RDNAttributeType.organizationName, "  example   CORP "),
            (.RDNAttributeType.commonName, "backend.test"),
        ])
        Self.expect(try Self.leaf([.dnsName("backend.test")], subject: folded, issuer: ca), under: ca, .ok,
                    "case and spaces do not matter")
        let outside = Self.distinguishedName([
            (.RDNAttributeType.countryName, "DE"), (.RDNAttributeType.organizationName, "Other Corp"),
            (.RDNAttributeType.commonName, "backend.test"),
        ])
        Self.expect(try Self.leaf([.dnsName("backend.test")], subject: outside, issuer: ca), under: ca,
                    .nameConstraintViolation, "another organisation")
        Self.expect(try Self.leaf([.dnsName("backend.test")], issuer: ca), under: ca, .nameConstraintViolation,
                    "a subject of the CN alone")
        // A directoryName SAN is judged too.
        Self.expect(try Self.leaf([.dnsName("backend.test"), .directoryName(outside)], subject: inside, issuer: ca), under: ca,
                    .nameConstraintViolation, "a directoryName SAN outside")
        let lab = Self.distinguishedName([
            (.RDNAttributeType.countryName, "DE"), (.RDNAttributeType.organizationName, "Example Corp"),
            (.RDNAttributeType.organizationalUnitName, "Lab"),
        ])
        let excluding = try Self.constrained(NameConstraints(excludedSubtrees: [.directoryName(lab)]))
        let inLab = Self.distinguishedName([
            (.RDNAttributeType.countryName, "DE"), (.RDNAttributeType.organizationName, "Example Corp"),
            (.RDNAttributeType.organizationalUnitName, "Lab"), (.RDNAttributeType.commonName, "backend.test"),
        ])
        Self.expect(try Self.leaf([.dnsName("backend.test")], subject: inLab, issuer: excluding), under: excluding,
                    .nameConstraintViolation, "below an excluded DN")
        Self.expect(try Self.leaf([.dnsName("backend.test")], subject: inside, issuer: excluding), under: excluding, .ok,
                    "beside the excluded DN")
    }

    @Test("Self-issued intermediates are exempt from their issuers' constraints; a self-issued leaf is not")
    func selfIssued() throws {
        let org = Self.distinguishedName([(.RDNAttributeType.organizationName, "Example Corp")])
        let inside = Self.distinguishedName([
            (.RDNAttributeType.organizationName, "Example Corp"), (.RDNAttributeType.commonName, "backend.test"),
        ])
        let issuing = try CustomCertificate("Issuing", issuer: Self.root, ca: true,
                                            nameConstraints: NameConstraints(permittedSubtrees: [.directoryName(org)]))
        // The same CA's new key, certified by its old one: its subject (CN=Issuing) is outside O=Example Corp.
        let rekeyed = try CustomCertificate("Issuing", issuer: issuing, ca: true)
        let leaf = try Self.leaf([.dnsName("backend.test")], subject: inside, issuer: rekeyed)
        PathValidationRuleTests.expect([leaf, rekeyed, issuing], root: Self.root, host: nil, strict: .ok, compatible: .ok,
                                       "a self-issued intermediate outside the subtree")
        let outsideLeaf = try Self.leaf([.dnsName("backend.test")], issuer: rekeyed)
        PathValidationRuleTests.expect([outsideLeaf, rekeyed, issuing], root: Self.root, host: nil,
                                       strict: .nameConstraintViolation, compatible: .nameConstraintViolation,
                                       "the leaf below it is still checked")
        let selfIssuedLeaf = try Self.leaf([.dnsName("backend.test")], cn: "Issuing", issuer: rekeyed)
        let result = PathValidationRuleTests.categories([selfIssuedLeaf, rekeyed, issuing], root: Self.root, host: nil)
        #expect(result.compatible == .nameConstraintViolation, "a self-issued leaf: \(result.details)")
    }

    // MARK: otherName and the forms TrustGate does not evaluate

    @Test("otherName constraints: a no-op without an otherName SAN, a refusal with one")
    func otherNames() throws {
        let upn = try ASN1ObjectIdentifier(elements: [1, 3, 6, 1, 4, 1, 311, 20, 2, 3])
        var serializer = DER.Serializer()
        try serializer.serialize(ASN1UTF8String("admin@example.test"))
        let value = try ASN1Any(derEncoded: serializer.serializedBytes)
        let constraint = GeneralName.otherName(GeneralName.OtherName(typeID: upn, value: value))
        let ca = try Self.constrained(NameConstraints(permittedSubtrees: [constraint]))
        Self.expect(try Self.leaf([.dnsName("backend.test")], issuer: ca), under: ca, .ok, "no otherName in the leaf")
        Self.expect(try Self.leaf([.dnsName("backend.test"), constraint], issuer: ca), under: ca, .nameConstraintViolation,
                    "an otherName in the leaf")
        let excluding = try Self.constrained(NameConstraints(excludedSubtrees: [constraint]))
        Self.expect(try Self.leaf([.dnsName("backend.test")], issuer: excluding), under: excluding, .ok,
                    "an excluded otherName, none in the leaf")
    }

    // MARK: IP addresses

    @Test("iPAddress: address and mask, per family; malformed constraints and CIDR SANs refused")
    func ipAddresses() throws {
        let ten = ASN1OctetString(contentBytes: [10, 0, 0, 0, 255, 0, 0, 0])
        let ca = try Self.constrained(NameConstraints(permittedIPRanges: [ten]))
        func ip(_ octets: [UInt8]) -> GeneralName { .ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets))) }
        // The CN of each leaf is its address's text, which the server profile accepts as a copy of the SAN.
        func leaf(_ octets: [UInt8], issuer: CustomCertificate) throws -> CustomCertificate {
            try Self.leaf([ip(octets)], cn: IPAddressBytes.format(octets), issuer: issuer)
        }
        Self.expect(try leaf([10, 1, 2, 3], issuer: ca), under: ca, host: "10.1.2.3", .ok, "inside 10/8")
        Self.expect(try leaf([192, 168, 1, 1], issuer: ca), under: ca, .nameConstraintViolation, "outside 10/8")
        let v6 = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 12) + [255, 255, 255, 255] + [UInt8](repeating: 0, count: 12)
        let v6CA = try Self.constrained(NameConstraints(permittedIPRanges: [ASN1OctetString(contentBytes: ArraySlice(v6))]))
        Self.expect(try leaf([0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1], issuer: v6CA), under: v6CA,
                    .ok, "inside 2001:db8::/32")
        Self.expect(try leaf([10, 1, 2, 3], issuer: v6CA), under: v6CA, .nameConstraintViolation,
                    "an IPv4 address under IPv6-only permitted subtrees")
        let excluding = try Self.constrained(NameConstraints(
            permittedIPRanges: [ten], excludedIPRanges: [ASN1OctetString(contentBytes: [10, 9, 0, 0, 255, 255, 0, 0])]
        ))
        Self.expect(try leaf([10, 9, 1, 1], issuer: excluding), under: excluding, .nameConstraintViolation,
                    "inside an excluded 10.9/16")
        Self.expect(try leaf([10, 8, 1, 1], issuer: excluding), under: excluding, .ok, "beside it")
        for (bad, comment) in [([10, 0, 0, 0] as [UInt8], "4 octets: no mask"), ([10, 0, 0, 0, 255, 0, 255, 0], "mask not contiguous"),
                               ([10, 0, 0, 0, 255], "5 octets")] {
            let malformed = try Self.constrained(raw: Self.tlv(0x30, Self.tlv(0xA0, Self.subtree(ip: bad))))
            Self.expect(try leaf([10, 1, 2, 3], issuer: malformed), under: malformed, .nameConstraintViolation,
                        Comment(rawValue: comment))
        }
        Self.expect(try leaf([10, 1, 2, 3, 255, 255, 255, 0], issuer: ca), under: ca, .nameConstraintViolation,
                    "a SAN in CIDR form under an IP constraint")
    }

    // MARK: E-mail and URI

    @Test("rfc822Name: a mailbox, a host, or a domain below; subject emailAddress counts; malformed constraints refused")
    func emailAddresses() throws {
        let host = try Self.constrained(NameConstraints(permittedEmailAddresses: ["example.test"]))
        Self.expect(try Self.leaf([.dnsName("backend.test"), .rfc822Name("alice@example.test")], issuer: host), under: host, .ok,
                    "a mailbox on the host")
        Self.expect(try Self.leaf([.dnsName("backend.test"), .rfc822Name("alice@sub.example.test")], issuer: host), under: host,
                    .nameConstraintViolation, "a host constraint does not reach hosts below")
        let domain = try Self.constrained(NameConstraints(permittedEmailAddresses: [".example.test"]))
        Self.expect(try Self.leaf([.dnsName("backend.test"), .rfc822Name("alice@sub.example.test")], issuer: domain), under: domain,
                    .ok, "a domain constraint reaches hosts below")
        Self.expect(try Self.leaf([.dnsName("backend.test"), .rfc822Name("alice@example.test")], issuer: domain), under: domain,
                    .nameConstraintViolation, "but not the domain itself")
        let mailbox = try Self.constrained(NameConstraints(permittedEmailAddresses: ["alice@example.test"]))
        Self.expect(try Self.leaf([.dnsName("backend.test"), .rfc822Name("alice@example.test")], issuer: mailbox), under: mailbox,
                    .ok, "the mailbox")
        Self.expect(try Self.leaf([.dnsName("backend.test"), .rfc822Name("bob@example.test")], issuer: mailbox), under: mailbox,
                    .nameConstraintViolation, "another mailbox on the host")
        let subject = DistinguishedName([
            RelativeDistinguishedName(RelativeDistinguishedName.Attribute(type: .RDNAttributeType.commonName, utf8String: "backend.test")),
            RelativeDistinguishedName(try RelativeDistinguishedName.Attribute(type: .RDNAttributeType.emailAddress,
                                                                             ia5String: "eve@elsewhere.test")),
        ])
        Self.expect(try Self.leaf([.dnsName("backend.test")], subject: subject, issuer: host), under: host,
                    .nameConstraintViolation, "an emailAddress in the subject")
        let malformed = try Self.constrained(NameConstraints(permittedEmailAddresses: ["a@b@example.test"]))
        Self.expect(try Self.leaf([.dnsName("backend.test"), .rfc822Name("a@example.test")], issuer: malformed), under: malformed,
                    .nameConstraintViolation, "two @ in the constraint")
        Self.expect(try Self.leaf([.dnsName("backend.test"), .rfc822Name("not-a-mailbox")], issuer: host), under: host,
                    .nameConstraintViolation, "a malformed rfc822Name SAN under an e-mail constraint")
    }

    @Test("URI: the host of the URI, exactly or below a .domain; IP literals and host-less URIs refused")
    func uris() throws {
        let domain = try Self.constrained(NameConstraints(permittedURIDomains: [".example.test"]))
        Self.expect(try Self.leaf([.dnsName("backend.test"), .uniformResourceIdentifier("https://api.example.test/x")], issuer: domain),
                    under: domain, .ok, "a host below the domain")
        Self.expect(try Self.leaf([.dnsName("backend.test"), .uniformResourceIdentifier("https://example.test/")], issuer: domain),
                    under: domain, .nameConstraintViolation, "the domain itself")
        let exact = try Self.constrained(NameConstraints(permittedURIDomains: ["example.test"]))
        Self.expect(try Self.leaf([.dnsName("backend.test"), .uniformResourceIdentifier("https://user@example.test:8443/a?b")],
                                  issuer: exact), under: exact, .ok, "userinfo and port do not matter")
        Self.expect(try Self.leaf([.dnsName("backend.test"), .uniformResourceIdentifier("https://10.0.0.1/")], issuer: exact),
                    under: exact, .nameConstraintViolation, "an IP literal host")
        Self.expect(try Self.leaf([.dnsName("backend.test"), .uniformResourceIdentifier("urn:example:test")], issuer: exact),
                    under: exact, .nameConstraintViolation, "a URI without a host")
        let excluding = try Self.constrained(NameConstraints(forbiddenURIDomains: ["evil.test"]))
        Self.expect(try Self.leaf([.dnsName("backend.test"), .uniformResourceIdentifier("https://evil.test/")], issuer: excluding),
                    under: excluding, .nameConstraintViolation, "an excluded URI host")
    }

    // MARK: Common names, placement

    @Test("A CN naming a host counts as a dNSName only when there is no SAN")
    func commonNames() throws {
        let ca = try Self.constrained(NameConstraints(permittedDNSDomains: ["example.test"]))
        let cnOnly = try CustomCertificate("api.other.test", issuer: ca, ca: false)
        let result = PathValidationRuleTests.categories([cnOnly, ca], root: Self.root, host: nil)
        #expect(result.compatible == .nameConstraintViolation, "a CN-only leaf outside: \(result.details)")
        let cnInside = try CustomCertificate("api.example.test", issuer: ca, ca: false)
        #expect(PathValidationRuleTests.categories([cnInside, ca], root: Self.root, host: nil).compatible == .ok)
    }

    @Test("nameConstraints belong in critical CA extensions only")
    func placement() throws {
        let nonCritical = try CustomCertificate("Constrained CA", issuer: Self.root, ca: true,
                                                nameConstraints: NameConstraints(permittedDNSDomains: ["example.test"]),
                                                tweaks: PathValidationRuleTests.tweaked { $0.nameConstraintsCritical = false })
        Self.expect(try Self.leaf([.dnsName("api.example.test")], cn: "api.example.test", issuer: nonCritical), under: nonCritical,
                    .profileViolation, "non-critical")
        let onLeaf = try CustomCertificate("backend.test", issuer: Self.root, ca: false, sans: [.dnsName("backend.test")],
                                           nameConstraints: NameConstraints(permittedDNSDomains: ["backend.test"]))
        PathValidationRuleTests.expect([onLeaf], root: Self.root, host: nil, strict: .profileViolation,
                                       compatible: .profileViolation, "on an end-entity certificate")
    }

    // MARK: Work

    @Test("1,000 subtrees × 1,000 SANs is too complex; 100 same-named intermediates end the search")
    func budgets() throws {
        let subtrees = (0..<1_000).map { "zone\($0).example.test" }
        let ca = try Self.constrained(NameConstraints(permittedDNSDomains: subtrees))
        let sans = (0..<1_000).map { GeneralName.dnsName("host\($0).zone\($0).example.test") }
        let leaf = try Self.leaf(sans, cn: "host0.zone0.example.test", issuer: ca)
        Self.expect(leaf, under: ca, .tooComplex, "10^6 comparisons")
        // Within the budget the same kind of chain is judged normally.
        let small = try Self.constrained(NameConstraints(permittedDNSDomains: subtrees.prefix(100)))
        Self.expect(try Self.leaf(Array(sans.prefix(100)), cn: "host0.zone0.example.test", issuer: small), under: small, .ok,
                    "10^4 comparisons")

        // 100 intermediates of one name, each key certified by the next one's (a ring, every certificate
        // self-issued, none self-signed): every step of the search has 100 candidates and no root at the end.
        let keys = try (0..<100).map { _ in try KeyAlgorithm.ecP256.generate() }
        let signers = try keys.map { try CustomCertificate("Hostile CA", key: $0, ca: true) }
        let intermediates = try keys.indices.map { index in
            try CustomCertificate("Hostile CA", issuer: signers[(index + 1) % keys.count], key: keys[index], ca: true).certificate
        }
        let hostileLeaf = try Self.leaf([.dnsName("backend.test")], issuer: signers[0])
        let verdict = TrustEvaluator().evaluateNow(TrustEvaluationRequest(
            presented: [hostileLeaf.certificate], roots: TrustAnchors([Self.root.certificate]), intermediates: intermediates,
            identity: .dns("backend.test")
        ))
        #expect(!verdict.isTrusted)
        #expect(verdict.category == .tooComplex, "\(verdict.category): \(verdict.detail)")
    }
}
