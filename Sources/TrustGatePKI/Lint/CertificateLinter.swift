import Foundation
import X509

/// One finding of `cert lint`.
public struct LintFinding: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable {
        case error
        case warning
    }

    public var severity: Severity
    /// A stable identifier of the check, e.g. `no-san`.
    public var check: String
    /// The subject of the certificate.
    public var certificate: String
    public var message: String

    public var description: String { "\(severity.rawValue): [\(check)] \(certificate): \(message)" }
}

/// Checks aimed at private and gateway certificates, where a public CA's checks do not run.
public enum CertificateLinter {
    /// Lints every certificate of a file, in the context of the others (issuers are looked up among them).
    public static func lint(
        _ certificates: [ParsedCertificate], hostname: ServerIdentity? = nil, now: Date = Date(),
        expiryWarningDays: Int = 30
    ) -> [LintFinding] {
        var findings: [LintFinding] = []
        let leaf = ChainAnalysis.leaf(of: certificates)
        for certificate in certificates {
            func add(_ severity: LintFinding.Severity, _ check: String, _ message: String) {
                findings.append(LintFinding(severity: severity, check: check, certificate: certificate.subject.description,
                                            message: message))
            }
            let issued = certificates.filter { $0 != certificate && ChainAnalysis.issued($0, by: certificate) }
            let actsAsCA = !issued.isEmpty || certificate.isCA
            if !actsAsCA {
                let identitySANs = certificate.subjectAlternativeNames.filter {
                    if case .dnsName = $0 { return true }
                    if case .ipAddress = $0 { return true }
                    return false
                }
                if identitySANs.isEmpty {
                    add(.error, certificate.commonNames.isEmpty ? "no-san" : "cn-only",
                        "no DNS or IP subject alternative name: browsers, Go, Java and TrustGate ignore the CN")
                }
                if certificate == leaf, let hostname, !HostnameMatcher.matches(certificate, hostname) {
                    let names = certificate.subjectAlternativeNames.map(SubjectAlternativeName.display)
                    add(.error, "hostname-mismatch",
                        "not valid for \(hostname) (has \(names.isEmpty ? "no SAN" : names.joined(separator: ", ")))")
                }
                let days = certificate.notAfter.timeIntervalSince(certificate.notBefore) / 86400
                if days > 398 {
                    add(.warning, "long-validity",
                        "valid for \(Int(days)) days; the CA/Browser Forum maximum is 398, shorter is better")
                }
            }
            if !issued.isEmpty {
                if !certificate.isCA {
                    add(.error, "ca-not-marked", "issues certificates but has no basicConstraints CA:TRUE")
                }
                if let usage = try? certificate.extensions.keyUsage, !usage.keyCertSign {
                    add(.error, "ca-no-keycertsign", "issues certificates but keyUsage lacks keyCertSign")
                }
            } else if certificate.isCA, let usage = try? certificate.extensions.keyUsage, !usage.keyCertSign {
                add(.error, "ca-no-keycertsign", "is a CA but keyUsage lacks keyCertSign")
            }
            if certificate.publicKey.isWeak {
                add(.error, "weak-key", "\(certificate.publicKey.algorithm)-\(certificate.publicKey.bits) key: use at least 2048 bits")
            }
            if certificate.hasWeakSignature, !certificate.isSelfIssued {
                add(.error, "weak-signature", "signed with \(certificate.signatureAlgorithmName): use SHA-256 or better")
            }
            if let issuer = certificates.first(where: { ChainAnalysis.issued(certificate, by: $0) }),
                certificate.notAfter > issuer.notAfter
            {
                add(.error, "outlives-issuer",
                    "valid until \(RFC3339.format(certificate.notAfter)), after its issuer \(issuer.subject) expires (\(RFC3339.format(issuer.notAfter)))")
            }
            if now > certificate.notAfter {
                add(.error, "expired", "expired at \(RFC3339.format(certificate.notAfter))")
            } else if now < certificate.notBefore {
                add(.error, "not-yet-valid", "not valid before \(RFC3339.format(certificate.notBefore))")
            } else if certificate.notAfter.timeIntervalSince(now) < Double(expiryWarningDays) * 86400 {
                let days = Int(certificate.notAfter.timeIntervalSince(now) / 86400)
                add(.warning, "expiring-soon", "expires in \(days) day\(days == 1 ? "" : "s") (\(RFC3339.format(certificate.notAfter)))")
            }
        }
        findings += profileFindings(certificates, existing: findings)
        return findings
    }

    /// The RFC 5280 and server-profile rules the gateway's default `strict` verification enforces, each named by
    /// its rule with the command that reissues the certificate without the problem.
    static func profileFindings(_ certificates: [ParsedCertificate], existing: [LintFinding]) -> [LintFinding] {
        let chain = ChainAnalysis.orderedChain(certificates)
        guard let first = chain.first else { return [] }
        // A file of CA certificates only: the leaf rules are not for them.
        let leafRules: Set<ProfileRule> = [
            .noSubjectAlternativeName, .criticalSANWithSubject, .commonNameNotInSAN, .caAsLeaf, .leafWithoutExtendedKeyUsage,
            .leafAnyExtendedKeyUsage, .leafCriticalExtendedKeyUsage, .leafKeyCertSign, .nameConstraintsOnLeaf,
        ]
        let hasLeaf = !first.isCA
        var findings: [LintFinding] = []
        for problem in TrustEvaluator.profileViolations(of: chain) {
            guard let name = problem.rule, let rule = ProfileRule(rawValue: name),
                let index = chain.firstIndex(where: { $0.sha256.hexString == problem.sha256 })
            else { continue }
            if !hasLeaf, leafRules.contains(rule) { continue }
            let certificate = chain[index].subject.description
            // `no-san` and `cn-only` already say what this rule says.
            if rule == .noSubjectAlternativeName,
                existing.contains(where: { $0.certificate == certificate && ($0.check == "no-san" || $0.check == "cn-only") })
            {
                continue
            }
            let position: ProfileRule.ChainPosition =
                index == 0 && hasLeaf ? .leaf : (chain[index].isSelfIssued && index == chain.count - 1 ? .root : .intermediate)
            let profile = rule.isServerProfileOnly ? "the strict profile refuses it; compatible accepts it" : "both profiles refuse it"
            // The finding names the certificate already.
            let prefix = chain[index].displayName + ": "
            let detail = problem.detail.hasPrefix(prefix) ? String(problem.detail.dropFirst(prefix.count)) : problem.detail
            let finding = LintFinding(
                severity: .error, check: rule.rawValue, certificate: certificate,
                message: "\(detail); \(profile). Reissue: \(ProfileRule.reissueCommand(for: chain[index], position: position))"
            )
            if !findings.contains(finding) { findings.append(finding) }
        }
        return findings
    }
}
