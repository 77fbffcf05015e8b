import Foundation
import SwiftASN1
// The SPI is the library's documented way to take validity periods out of its RFC 5280 policy.
@_spi(DisableValidityCheck) import X509

/// The one trust path: `cert verify`, `allowlist check`, `backend-health` and the gateway's upstream handshake all
/// ask this type whether a presented chain validates to a trusted root, for a name, at a time.
///
/// Candidate paths come from a bounded ``PathBuilder``; each is checked by swift-certificates' `Verifier` with its
/// RFC 5280 policy (signatures, version, basic constraints, path length, name constraints) and by TrustGate's own
/// checks, which give each failure its reason category: validity periods (naming the certificate), server
/// identity (``HostnameMatcher``), key usage and extended key usage, weak keys and SHA-1/MD5 signatures, and the
/// maximum number of intermediates. A rejection is a ``TrustVerdict`` value, never a thrown error.
public struct TrustEvaluator: Sendable {
    public init() {}

    /// The most extra intermediates (`cert verify --intermediates`) one evaluation searches.
    public static let maximumIntermediatePool = 1_000

    /// Evaluates `request`. Never throws: malformed input is the `malformed` category.
    public func evaluate(_ request: TrustEvaluationRequest) async -> TrustVerdict {
        guard let leaf = request.presented.first else {
            return TrustVerdict(chain: [], problems: [TrustProblem(.malformed, "the peer presented no certificate")])
        }
        let presentedBytes = request.presented.reduce(0) { $0 + $1.der.count }
        if let problem = PresentedChain.boundsProblem(count: request.presented.count, bytes: presentedBytes) {
            return TrustVerdict(chain: [], problems: [problem])
        }
        if request.intermediates.count > Self.maximumIntermediatePool {
            let problem = TrustProblem(
                .tooComplex,
                "\(request.intermediates.count) extra intermediates given; at most \(Self.maximumIntermediatePool) are searched"
            )
            return TrustVerdict(chain: [], problems: [problem])
        }
        if let problem = leafNotFirst(request.presented) {
            return TrustVerdict(chain: request.presented, problems: [problem])
        }
        if let reason = leaf.unusableReason {
            // The crypto library cannot use the leaf: report why, plus what can still be checked from its fields.
            let category: ReasonCategory = leaf.publicKey.isWeak ? .weakKey : .malformed
            let problems = [TrustProblem(category, "\(leaf.subject): \(reason)", certificate: leaf)]
                + validityProblems([leaf], at: request.time) + identityProblems(leaf, request.identity)
            return TrustVerdict(chain: [leaf], problems: problems)
        }

        var builder = PathBuilder(roots: request.roots, pool: Array(request.presented.dropFirst()) + request.intermediates)
        builder.build(from: leaf)
        var best: TrustVerdict?
        var budget = NameConstraintBudget()
        for path in builder.paths {
            if let problem = budget.spend(on: path) {
                return TrustVerdict(chain: path, problems: [problem])
            }
            let verdict = await check(path: path, request: request)
            if verdict.isTrusted { return verdict }
            if best == nil || Self.isBetter(verdict, than: best) { best = verdict }
        }
        if let best { return best }
        return deadEnd(builder, leaf: leaf, request: request)
    }

    /// A verdict whose first problem comes later in the fix order got further: prefer it.
    private static func isBetter(_ candidate: TrustVerdict, than current: TrustVerdict?) -> Bool {
        guard let current else { return true }
        let a = TrustProblem.rank(candidate.category)
        let b = TrustProblem.rank(current.category)
        return a != b ? a > b : candidate.problems.count < current.problems.count
    }

    /// Checks one complete path (leaf … trusted root).
    private func check(path: [ParsedCertificate], request: TrustEvaluationRequest) async -> TrustVerdict {
        var problems: [TrustProblem] = []
        let leaf = path[0]
        problems += validityProblems(path, at: request.time)
        problems += identityProblems(leaf, request.identity)
        problems += usageProblems(path, purpose: request.purpose)
        problems += weakAlgorithmProblems(path)
        let intermediates = max(0, path.count - 2)
        if intermediates > request.maximumIntermediates {
            problems.append(
                TrustProblem(
                    .pathLengthExceeded,
                    "the path has \(intermediates) intermediates; at most \(request.maximumIntermediates) are allowed"
                )
            )
        }
        if let problem = await libraryProblem(path, additional: request.additionalPolicy) { problems.append(problem) }
        return TrustVerdict(chain: path, problems: problems)
    }

    /// swift-certificates' RFC 5280 verdict on exactly this path. Validity periods are TrustGate's own check (it
    /// names the certificate and is judged at the request's time), so the library's is turned off.
    private func libraryProblem(_ path: [ParsedCertificate], additional: AdditionalPolicy?) async -> TrustProblem? {
        let certificates = path.compactMap(\.x509)
        guard certificates.count == path.count, let leaf = certificates.first, let root = certificates.last else {
            return TrustProblem(.malformed, "a certificate on the path cannot be used")
        }
        let extra = additional?.make()
        var verifier = Verifier(rootCertificates: CertificateStore([root])) {
            RFC5280Policy.withValidityCheckDisabled()
            UsageExtensionsPolicy()
            if let extra { extra }
        }
        let result = await verifier.validate(
            leaf: leaf, intermediates: CertificateStore(certificates.dropFirst().dropLast())
        )
        switch result {
        case .validCertificate:
            return nil
        case .couldNotValidate(let failures):
            guard let reason = failures.first.map({ String(describing: $0.policyFailureReason) }) else {
                return TrustProblem(
                    .malformed, "\(path[0].subject) has a critical extension TrustGate does not process",
                    certificate: path[0]
                )
            }
            if let category = ReasonCategory.allCases.first(where: { reason.hasPrefix("\($0.rawValue): ") }) {
                return TrustProblem(category, String(reason.dropFirst(category.rawValue.count + 2)))
            }
            return TrustProblem(Self.category(ofLibraryReason: reason), Self.clean(reason))
        }
    }

    static func category(ofLibraryReason reason: String) -> ReasonCategory {
        if reason.contains("maximum path length") { return .pathLengthExceeded }
        if reason.contains("is not marked as a CA") { return .notACA }
        if reason.contains("name constraints") || reason.contains("subtree") { return .nameConstraintViolation }
        return .malformed
    }

    private static func clean(_ reason: String) -> String {
        reason.replacingOccurrences(of: "RFC5280Policy: ", with: "")
    }

    // MARK: TrustGate's own checks

    private func validityProblems(_ path: [ParsedCertificate], at time: Date) -> [TrustProblem] {
        path.compactMap { certificate in
            if time > certificate.notAfter {
                return TrustProblem(
                    .expired, "\(certificate.subject) expired at \(RFC3339.format(certificate.notAfter))",
                    certificate: certificate
                )
            }
            if time < certificate.notBefore {
                return TrustProblem(
                    .notYetValid,
                    "\(certificate.subject) is not valid before \(RFC3339.format(certificate.notBefore))",
                    certificate: certificate
                )
            }
            return nil
        }
    }

    private func identityProblems(_ leaf: ParsedCertificate, _ identity: ServerIdentity?) -> [TrustProblem] {
        guard let identity, !HostnameMatcher.matches(leaf, identity) else { return [] }
        let names = leaf.subjectAlternativeNames.map(SubjectAlternativeName.display)
        let presented = names.isEmpty ? "no SAN, CN \(leaf.commonNames.joined(separator: ", "))" : names.joined(separator: ", ")
        return [TrustProblem(.hostnameMismatch, "expected \(identity), certificate is for \(presented)", certificate: leaf)]
    }

    private func usageProblems(_ path: [ParsedCertificate], purpose: CertificatePurpose) -> [TrustProblem] {
        var problems: [TrustProblem] = []
        let wanted: ExtendedKeyUsage.Usage = purpose == .server ? .serverAuth : .clientAuth
        for (index, certificate) in path.enumerated() {
            let isLeaf = index == 0 && path.count > 1 || path.count == 1
            if let usages = try? certificate.extensions.extendedKeyUsage, !usages.contains(wanted),
                !usages.contains(.any), !(index == path.count - 1 && path.count > 1)
            {
                problems.append(
                    TrustProblem(
                        .badKeyUsage, "\(certificate.subject) is not allowed for \(purpose.rawValue) authentication "
                            + "(extendedKeyUsage lacks \(purpose == .server ? "serverAuth" : "clientAuth"))",
                        certificate: certificate
                    )
                )
            }
            guard let usage = try? certificate.extensions.keyUsage else { continue }
            if isLeaf, !usage.digitalSignature, !usage.keyEncipherment, !usage.keyAgreement {
                problems.append(
                    TrustProblem(.badKeyUsage, "\(certificate.subject) keyUsage allows no TLS use", certificate: certificate)
                )
            } else if !isLeaf, !usage.keyCertSign {
                problems.append(
                    TrustProblem(
                        .badKeyUsage, "CA \(certificate.subject) may not sign certificates (keyUsage lacks keyCertSign)",
                        certificate: certificate
                    )
                )
            }
        }
        return problems
    }

    private func weakAlgorithmProblems(_ path: [ParsedCertificate]) -> [TrustProblem] {
        path.enumerated().compactMap { index, certificate in
            if certificate.publicKey.isWeak {
                return TrustProblem(
                    .weakKey, "\(certificate.subject) has a \(certificate.publicKey.bits)-bit RSA key (at least 2048)",
                    certificate: certificate
                )
            }
            // A trust anchor's self-signature is never relied on, so only the certificates below it count.
            if certificate.hasWeakSignature, index < path.count - 1 || path.count == 1 {
                return TrustProblem(
                    .weakKey, "\(certificate.subject) is signed with \(certificate.signatureAlgorithmName)",
                    certificate: certificate
                )
            }
            return nil
        }
    }

    /// The leaf must come first: a CA first, followed by the end-entity certificate it (transitively) issued, is a
    /// misconfigured server.
    private func leafNotFirst(_ presented: [ParsedCertificate]) -> TrustProblem? {
        guard presented.count > 1, presented[0].isCA,
            let leaf = presented.dropFirst().first(where: { !$0.isCA && !$0.isSelfIssued })
        else { return nil }
        let chain = ChainAnalysis.orderedChain(presented)
        guard chain.first == leaf else { return nil }
        return TrustProblem(
            .leafNotFirst, "the peer sent CA \(presented[0].subject) first; its leaf \(leaf.subject) must come first",
            certificate: presented[0]
        )
    }

    /// No path reached a trusted root: say where and why it stopped.
    private func deadEnd(_ builder: PathBuilder, leaf: ParsedCertificate, request: TrustEvaluationRequest) -> TrustVerdict {
        let (path, dead) = builder.furthest ?? ([leaf], .missingIssuer(leaf))
        var problems = validityProblems(path, at: request.time) + identityProblems(leaf, request.identity)
        let untrusted: ReasonCategory = request.roots.isWellKnownStore ? .notWellKnownCA : .untrustedRoot
        switch dead {
        case .missingIssuer(let certificate):
            problems.append(
                TrustProblem(
                    .incompleteChain,
                    "the issuer \(certificate.issuer) of \(certificate.subject) was not presented and is not trusted",
                    certificate: certificate
                )
            )
        case .badSignature(let certificate, let issuer):
            problems.append(
                TrustProblem(
                    .badSignature, "the signature of \(certificate.subject) does not verify with the key of \(issuer.subject)",
                    certificate: certificate
                )
            )
        case .untrustedRoot(let root):
            let detail = request.roots.isWellKnownStore
                ? "the chain ends in \(root.subject), which is not a well-known CA in the system trust store"
                : "the chain ends in \(root.subject), which is not a trusted root"
            problems.append(TrustProblem(untrusted, detail, certificate: root))
        case .unusable(let certificate):
            let category: ReasonCategory = certificate.publicKey.isWeak ? .weakKey : .malformed
            problems.append(
                TrustProblem(category, "\(certificate.subject): \(certificate.unusableReason ?? "unusable")", certificate: certificate)
            )
        case .exhausted:
            problems.append(
                TrustProblem(
                    .tooComplex,
                    "path building gave up after \(PathBuilder.maximumSignatureChecks) signature checks or "
                        + "\(PathBuilder.maximumDepth) certificates: too many candidate issuers"
                )
            )
        }
        return TrustVerdict(chain: path, problems: problems)
    }
}

/// Tells swift-certificates that keyUsage and extendedKeyUsage are enforced (by ``TrustEvaluator``'s own checks),
/// so certificates marking them critical are not rejected as having unhandled critical extensions.
struct UsageExtensionsPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.keyUsage, .X509ExtensionID.extendedKeyUsage, .X509ExtensionID.subjectAlternativeName,
    ]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        .meetsPolicy
    }
}
