/// Builds candidate certification paths from a leaf to a trusted root with bounded work, whatever the input:
/// at most `maximumSignatureChecks` signature verifications and `maximumPaths` complete paths, as Go's verifier
/// bounds itself. swift-certificates' own search is an unbounded depth-first search, so it is given one of these
/// paths at a time.
struct PathBuilder {
    /// Why building stopped short of a trusted root, from the path that got furthest.
    enum Dead: Sendable {
        /// `certificate`'s issuer is neither presented, nor an intermediate, nor trusted.
        case missingIssuer(ParsedCertificate)
        /// Certificates named as `certificate`'s issuer exist, but none verifies its signature.
        case badSignature(ParsedCertificate, claimedIssuer: ParsedCertificate)
        /// The path ends in a self-signed certificate that is not trusted.
        case untrustedRoot(ParsedCertificate)
        /// A certificate the crypto library cannot use (weak key, unsupported algorithm) is in the way.
        case unusable(ParsedCertificate)
        /// The work bound was reached.
        case exhausted
    }

    static let maximumSignatureChecks = 100  // rustls-webpki's figure
    static let maximumPaths = 8
    static let maximumDepth = 12

    let roots: TrustAnchors
    let pool: [ParsedCertificate]
    private(set) var paths: [[ParsedCertificate]] = []
    private(set) var furthest: (path: [ParsedCertificate], dead: Dead)?
    private var signatureChecks = 0
    private var verified: [[UInt8]: Bool] = [:]

    init(roots: TrustAnchors, pool: [ParsedCertificate]) {
        self.roots = roots
        // Identical certificates sent twice are one certificate.
        var seen = Set<[UInt8]>()
        self.pool = pool.filter { seen.insert($0.sha256).inserted }
    }

    mutating func build(from leaf: ParsedCertificate) {
        if roots.contains(leaf) {
            paths.append([leaf])
            return
        }
        extend([leaf])
    }

    private mutating func extend(_ path: [ParsedCertificate]) {
        guard paths.count < Self.maximumPaths, let tip = path.last else { return }
        guard signatureChecks < Self.maximumSignatureChecks, path.count <= Self.maximumDepth else {
            record(path, .exhausted)
            return
        }
        guard tip.x509 != nil else {
            record(path, .unusable(tip))
            return
        }
        let issuerName = tip.issuer.description
        let trusted = roots.withSubject(issuerName)
        let others = pool.filter { $0.subject.description == issuerName && !path.contains($0) && !roots.contains($0) }
        var claimed: ParsedCertificate?
        for candidate in trusted + others {
            guard paths.count < Self.maximumPaths else { return }
            guard candidate.x509 != nil else {
                record(path + [candidate], .unusable(candidate))
                continue
            }
            guard signatureChecks < Self.maximumSignatureChecks else {
                record(path, .exhausted)
                return
            }
            guard signs(candidate, tip) else {
                claimed = candidate
                continue
            }
            if roots.contains(candidate) {
                paths.append(path + [candidate])
            } else if candidate.isSelfIssued, signs(candidate, candidate) {
                record(path + [candidate], .untrustedRoot(candidate))
            } else {
                // An intermediate, or a self-issued CA certificate signed by another key (a key rollover): its
                // issuer is searched in turn.
                extend(path + [candidate])
            }
        }
        if trusted.isEmpty, others.isEmpty {
            if tip.isSelfIssued {
                record(path, tip.isSelfSigned ? .untrustedRoot(tip) : .badSignature(tip, claimedIssuer: tip))
            } else {
                record(path, .missingIssuer(tip))
            }
        } else if let claimed {
            record(path, .badSignature(tip, claimedIssuer: claimed))
        }
    }

    /// Whether `issuer`'s key verifies `certificate`'s signature: verified once per pair and evaluation, however
    /// many paths reach the pair.
    private mutating func signs(_ issuer: ParsedCertificate, _ certificate: ParsedCertificate) -> Bool {
        let key = certificate.sha256 + issuer.sha256
        if let known = verified[key] { return known }
        signatureChecks += 1
        let answer = certificate.isSigned(by: issuer)
        verified[key] = answer
        return answer
    }

    private mutating func record(_ path: [ParsedCertificate], _ dead: Dead) {
        if let furthest, furthest.path.count >= path.count { return }
        furthest = (path, dead)
    }
}
