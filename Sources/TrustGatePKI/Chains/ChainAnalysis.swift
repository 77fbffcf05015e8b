import X509

/// Orders certificates into a chain and finds its root, using only the certificates given.
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
        guard let leaf = leaf(of: certificates) else { return [] }
        var chain = [leaf]
        var current = leaf
        while !current.isSelfIssued, chain.count <= certificates.count,
            let next = certificates.first(where: { candidate in
                !chain.contains(candidate) && issued(current, by: candidate)
            })
        {
            chain.append(next)
            current = next
        }
        return chain
    }

    /// The end-entity certificate: the one no other certificate in the set was issued by, preferring the first
    /// in file order (a server sends its leaf first).
    public static func leaf(of certificates: [ParsedCertificate]) -> ParsedCertificate? {
        certificates.first { candidate in
            !certificates.contains { other in other != candidate && issued(other, by: candidate) }
        } ?? certificates.first
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
        let leaf = leaf(of: certificates)
        return certificates.map { certificate in
            if certificate.isSelfIssued {
                return certificate.isCA ? .root : .selfSigned
            }
            return certificate == leaf && !certificate.isCA ? .leaf : .intermediate
        }
    }

    /// Whether `issuer` issued `certificate`: names chain, and the signature verifies when both keys are usable.
    static func issued(_ certificate: ParsedCertificate, by issuer: ParsedCertificate) -> Bool {
        guard certificate != issuer, certificate.issuer == issuer.subject else { return false }
        guard certificate.x509 != nil, issuer.x509 != nil else { return true }
        return certificate.isSigned(by: issuer)
    }
}
