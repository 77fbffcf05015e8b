import X509

/// Orders certificates into a chain and finds its root, using only the certificates given.
///
/// Work is bounded whatever the input: issuers are looked up by name through an index, each (certificate,
/// issuer) pair is judged once, and at most ``IssuerGraph/signatureBudget`` signatures are verified per call;
/// past it, names alone decide (these answers order and label certificates; trust is ``TrustEvaluator``'s).
public enum ChainAnalysis {
    /// The outcome of looking for the root of a chain.
    public enum RootSearch: Sendable {
        /// The self-signed certificate the chain ends in.
        case root(ParsedCertificate)
        /// The chain stops at `last`, whose issuer `missingIssuer` is not among the certificates.
        case incomplete(last: ParsedCertificate, missingIssuer: DistinguishedName)
    }

    /// A certificate's place in its chain, for labels.
    public enum Role: String, Sendable, Codable, CustomStringConvertible {
        case leaf
        case intermediate
        case root
        case selfSigned = "self-signed"
        public var description: String { rawValue }
    }

    /// The chain from the leaf upward: starts at the certificate that issued none of the others and follows
    /// issuers (by name and signature) as far as the set allows. Certificates not on that path are left out.
    public static func orderedChain(_ certificates: [ParsedCertificate]) -> [ParsedCertificate] {
        var graph = IssuerGraph(certificates)
        return graph.orderedChain().map { certificates[$0] }
    }

    /// The end-entity certificate: the one no other certificate in the set was issued by, preferring the first
    /// in file order (a server sends its leaf first).
    public static func leaf(of certificates: [ParsedCertificate]) -> ParsedCertificate? {
        var graph = IssuerGraph(certificates)
        return graph.leaf().map { certificates[$0] }
    }

    /// Follows the chain from its leaf to a self-signed root.
    public static func findRoot(_ certificates: [ParsedCertificate]) -> RootSearch? {
        let chain = orderedChain(certificates)
        guard let top = chain.last else { return nil }
        if top.isSelfIssued { return .root(top) }
        return .incomplete(last: top, missingIssuer: top.issuer)
    }

    /// Each certificate's role, in the order given.
    public static func roles(of certificates: [ParsedCertificate]) -> [Role] {
        var graph = IssuerGraph(certificates)
        let leaf = graph.leaf()
        return certificates.indices.map { index in
            let certificate = certificates[index]
            if certificate.isSelfIssued {
                return certificate.isCA ? .root : .selfSigned
            }
            return index == leaf && !certificate.isCA ? .leaf : .intermediate
        }
    }

    /// Whether `issuer` issued `certificate`: names chain, and the signature verifies when both keys are usable.
    static func issued(_ certificate: ParsedCertificate, by issuer: ParsedCertificate) -> Bool {
        guard certificate != issuer, certificate.issuer == issuer.subject else { return false }
        guard certificate.x509 != nil, issuer.x509 != nil else { return true }
        return certificate.isSigned(by: issuer)
    }
}

/// Who issued whom among a set of certificates: candidates found by name through an index, each pair judged
/// once, signatures verified up to a budget.
struct IssuerGraph {
    /// Signature verifications per graph; past it, matching names are taken as issuance.
    static let signatureBudget = 256

    let certificates: [ParsedCertificate]
    private let bySubject: [DistinguishedName: [Int]]
    private let byIssuer: [DistinguishedName: [Int]]
    private var judged: [Int: Bool] = [:]
    private var signatureChecks = 0

    init(_ certificates: [ParsedCertificate]) {
        self.certificates = certificates
        var bySubject: [DistinguishedName: [Int]] = [:]
        var byIssuer: [DistinguishedName: [Int]] = [:]
        for (index, certificate) in certificates.enumerated() {
            bySubject[certificate.subject, default: []].append(index)
            byIssuer[certificate.issuer, default: []].append(index)
        }
        self.bySubject = bySubject
        self.byIssuer = byIssuer
    }

    /// Whether certificate `issuer` issued certificate `subject` (never itself, nor an identical copy).
    mutating func issued(_ subject: Int, by issuer: Int) -> Bool {
        let key = subject &* certificates.count &+ issuer
        if let known = judged[key] { return known }
        let certificate = certificates[subject]
        let candidate = certificates[issuer]
        var answer = subject != issuer && certificate != candidate && certificate.issuer == candidate.subject
        if answer, certificate.x509 != nil, candidate.x509 != nil, signatureChecks < Self.signatureBudget {
            signatureChecks += 1
            answer = certificate.isSigned(by: candidate)
        }
        judged[key] = answer
        return answer
    }

    /// The first certificate, in the order given, that issued none of the others (else the first).
    mutating func leaf() -> Int? {
        guard !certificates.isEmpty else { return nil }
        for index in certificates.indices {
            let children = byIssuer[certificates[index].subject] ?? []
            if !children.contains(where: { issued($0, by: index) }) { return index }
        }
        return 0
    }

    /// From the leaf upward, each step the first certificate not yet on the path that issued the last one.
    mutating func orderedChain() -> [Int] {
        guard let leaf = leaf() else { return [] }
        var chain = [leaf]
        var onPath = Set(chain)
        var current = leaf
        while !certificates[current].isSelfIssued, chain.count < certificates.count {
            let candidates = bySubject[certificates[current].issuer] ?? []
            guard let next = candidates.first(where: { !onPath.contains($0) && issued(current, by: $0) }) else { break }
            chain.append(next)
            onPath.insert(next)
            current = next
        }
        return chain
    }
}
