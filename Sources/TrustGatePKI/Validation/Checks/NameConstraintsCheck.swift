import Foundation
import SwiftASN1
import X509

/// Name constraints (RFC 5280 §4.2.1.10, §6.1.3(b)–(c), §6.1.4(g)), TrustGate's own, in both profiles
/// (`name-constraint-violation`):
/// - each CA's constraints apply to every certificate below it on the path but self-issued intermediates (the
///   leaf always): its subject and directoryName SANs (directoryName constraints, by RDN prefix), its dNSName,
///   iPAddress, rfc822Name (and subject emailAddress) and URI SANs; a CN naming a host stands for a dNSName in a
///   certificate without SANs;
/// - a name must be within a permitted subtree of its type when the CA permits any of that type, and within no
///   excluded subtree; each CA's permissions apply on their own, so a CA below cannot widen them;
/// - a wildcard dNSName is within a subtree only if every name it can stand for is, and meets an excluded subtree
///   if any name it can stand for does (the Go CVE-2025-61727 class);
/// - a constraint that is not well-formed (a DNS constraint with a leading period or a wildcard, an iPAddress that
///   is not address and contiguous mask, an rfc822Name with two `@`), an empty subtree list, neither list, a name
///   that is not well-formed under a constraint of its type, and a constraint of a form TrustGate does not
///   evaluate (otherName, x400Address, ediPartyName, registeredID) while a name of that form is present: refused.
struct NameConstraintsCheck: PathCheck {
    func problems(in context: PathContext) -> [TrustProblem] {
        let path = context.path
        guard path.count > 1 else { return [] }
        var problems: [TrustProblem] = []
        for index in path.indices.dropFirst() {
            let issuer = path[index]
            guard let ext = issuer.extensions[oid: .X509ExtensionID.nameConstraints] else { continue }
            let constraints: Subtrees
            do {
                constraints = try Subtrees(ext.value)
            } catch {
                problems.append(TrustProblem(
                    .nameConstraintViolation, "\(issuer.displayName) has name constraints that are not valid: \(error.reason)",
                    certificate: issuer
                ))
                continue
            }
            for below in path.indices.prefix(index) {
                let certificate = path[below]
                if below > 0, certificate.isSelfIssued { continue }  // RFC 5280 §6.1.4(b): not for self-issued CAs
                if let reason = constraints.violation(by: CertificateNames(certificate)) {
                    problems.append(TrustProblem(
                        .nameConstraintViolation, "\(certificate.displayName) \(reason), under the constraints of \(issuer.displayName)",
                        certificate: certificate
                    ))
                }
            }
        }
        return problems
    }

    /// One CA's permitted and excluded subtrees, validated as they are read.
    struct Subtrees {
        struct Failure: Error {
            let reason: String
        }

        var permitted: [GeneralName] = []
        var excluded: [GeneralName] = []

        /// Reads `NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL, excludedSubtrees [1]
        /// GeneralSubtrees OPTIONAL }` from the extension's value; `GeneralSubtrees ::= SEQUENCE SIZE (1..MAX) OF
        /// GeneralSubtree`, `GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] DEFAULT 0, maximum [1] OPTIONAL }`.
        init(_ value: ArraySlice<UInt8>) throws(Failure) {
            var found = false
            do {
                try DER.sequence(try DER.parse(value), identifier: .sequence) { nodes in
                    while let node = nodes.next() {
                        guard node.identifier.tagClass == .contextSpecific, node.identifier.tagNumber <= 1,
                            case .constructed(let subtrees) = node.content
                        else { throw Failure(reason: "an unexpected field") }
                        var bases: [GeneralName] = []
                        for subtree in subtrees {
                            bases.append(try Self.base(subtree))
                        }
                        guard !bases.isEmpty else { throw Failure(reason: "an empty list of subtrees") }
                        if node.identifier.tagNumber == 0 { permitted = bases } else { excluded = bases }
                        found = true
                    }
                }
            } catch let failure as Failure {
                throw failure
            } catch {
                throw Failure(reason: "not DER (\(error))")
            }
            guard found else { throw Failure(reason: "neither permitted nor excluded subtrees") }
            for base in permitted + excluded {
                if let reason = Self.invalid(base) { throw Failure(reason: reason) }
            }
        }

        private static func base(_ subtree: ASN1Node) throws -> GeneralName {
            try DER.sequence(subtree, identifier: .sequence) { fields in
                guard let baseNode = fields.next() else { throw Failure(reason: "a subtree without a base") }
                let base = try GeneralName(derEncoded: baseNode)
                // minimum must be 0 and maximum absent (RFC 5280 §4.2.1.10): a range cannot be evaluated.
                while let field = fields.next() {
                    guard field.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific),
                        case .primitive(let bytes) = field.content, bytes.allSatisfy({ $0 == 0 })
                    else { throw Failure(reason: "a subtree with a minimum or maximum") }
                }
                return base
            }
        }

        /// Why a subtree's base is not a valid constraint, if it is not.
        private static func invalid(_ base: GeneralName) -> String? {
            switch base {
            case .dnsName(let name):
                if name.hasPrefix(".") { return "the DNS constraint \(name.debugDescription) has a leading period" }
                if name.contains("*") { return "the DNS constraint \(name.debugDescription) has a wildcard" }
                if !name.isEmpty, !NameForms.isHostName(name) { return "the DNS constraint \(name.debugDescription) is not a host name" }
            case .ipAddress(let octets):
                guard NameForms.network(Array(octets.bytes)) != nil else {
                    return "the iPAddress constraint is not an address and a contiguous mask"
                }
            case .rfc822Name(let mail):
                guard NameForms.mailboxConstraint(mail) != nil else { return "the rfc822Name constraint \(mail.debugDescription) is not valid" }
            case .uniformResourceIdentifier(let host):
                let bare = host.hasPrefix(".") ? String(host.dropFirst()) : host
                guard NameForms.isHostName(bare) else { return "the URI constraint \(host.debugDescription) is not a host name" }
            default:
                break
            }
            return nil
        }

        /// Why `names` break these constraints, or nil.
        func violation(by names: CertificateNames) -> String? {
            if let invalid = names.invalid.first(where: { kind in (permitted + excluded).contains { NameForms.kind(of: $0) == kind.kind } }) {
                return "has a \(invalid.kind) name that is not well-formed (\(invalid.text))"
            }
            for name in names.all {
                let kind = NameForms.kind(of: name)
                let excludedOfKind = excluded.filter { NameForms.kind(of: $0) == kind }
                let permittedOfKind = permitted.filter { NameForms.kind(of: $0) == kind }
                guard !excludedOfKind.isEmpty || !permittedOfKind.isEmpty else { continue }
                guard NameForms.isEvaluated(kind) else { return "has a \(kind) name, which TrustGate cannot check against its constraints" }
                if let hit = excludedOfKind.first(where: { NameForms.meets(name, excludedSubtree: $0) }) {
                    return "has the \(kind) name \(NameForms.text(name)) in the excluded subtree \(NameForms.text(hit))"
                }
                if !permittedOfKind.isEmpty, !permittedOfKind.contains(where: { NameForms.within(name, permittedSubtree: $0) }) {
                    return "has the \(kind) name \(NameForms.text(name)) outside the permitted subtrees "
                        + permittedOfKind.map(NameForms.text).joined(separator: ", ")
                }
            }
            return nil
        }
    }
}

/// The name-constraints reader and matcher, for `trustgate-fuzz` alone.
package enum NameConstraintsFuzz {
    /// For `trustgate-fuzz name-constraints`: `value` read as a nameConstraints extension value and, when it
    /// parses, applied to certificates with names of every form (DNS and wildcard, IPv4 and IPv6, email, URI,
    /// directory name, a subject CN without SANs).
    package static func fuzz(_ value: [UInt8]) {
        guard let constraints = try? NameConstraintsCheck.Subtrees(value[...]) else { return }
        for certificate in fuzzCertificates {
            _ = constraints.violation(by: CertificateNames(certificate))
        }
    }

    private static let fuzzCertificates: [ParsedCertificate] = {
        guard let validity = try? ValidityPeriod(notBefore: Date(), notAfter: Date().addingTimeInterval(86400)),
            let directory = try? DistinguishedName(builder: {
                CountryName("DE")
                OrganizationName("Example Corp")
                CommonName("backend.test")
            })
        else { return [] }
        let names: [[GeneralName]] = [
            [.dnsName("backend.example.test"), .dnsName("*.zone.example.test"), .dnsName("EXAMPLE.test.")],
            [.ipAddress(ASN1OctetString(contentBytes: [10, 0, 0, 4])),
             .ipAddress(ASN1OctetString(contentBytes: [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))],
            [.rfc822Name("ops@example.test"), .uniformResourceIdentifier("https://api.example.test:8443/x")],
            [.directoryName(directory)],
            [],
        ]
        return names.compactMap { sans in
            try? CertificateFactory.issue(
                CertificateRequest(commonName: "backend.example.test", subjectAlternativeNames: sans, validity: validity)
            ).certificate
        }
    }()
}
