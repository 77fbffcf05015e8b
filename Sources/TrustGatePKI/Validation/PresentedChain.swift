/// The chain a TLS peer presented, as the one thing every trust decision judges: `gateway run`'s upstream
/// handshake, `gateway backend-health`, `allowlist check --connect` and `allowlist plan` all build it here.
///
/// Nothing is dropped, reordered or repaired. Every certificate must parse (a certificate we cannot read is a
/// refusal, never a skip: skipping it would let an impostor's leaf be replaced by the real backend's public one),
/// and the first must be byte for byte the certificate whose key completed the handshake. The chain is capped as
/// OpenSSL caps a peer's certificate list (100 KiB) and in length.
public enum PresentedChain {
    /// The most certificates a peer may present. Real chains have two to five.
    public static let maximumCertificates = 16
    /// The most bytes of certificates a peer may present: OpenSSL's default peer certificate list limit.
    public static let maximumBytes = 102_400

    /// A chain fit to be judged, or why there is none.
    public enum Outcome: Sendable {
        case chain([ParsedCertificate])
        /// `malformed` or `too-complex`: the handshake is refused without judging anything.
        case refused(TrustProblem)
    }

    /// The presented chain, parsed, or why it is refused (`malformed` or `too-complex`).
    ///
    /// - Parameters:
    ///   - certificates: the DER certificates in the order the peer sent them, leaf first.
    ///   - handshakeLeaf: the DER of the certificate whose key signed the handshake, as the TLS library reports
    ///     it; `nil` when the caller has no separate view of it.
    public static func parse(_ certificates: [[UInt8]], handshakeLeaf: [UInt8]?) -> Outcome {
        guard !certificates.isEmpty else { return .refused(TrustProblem(.malformed, "the peer presented no certificate")) }
        if let problem = boundsProblem(count: certificates.count, bytes: certificates.reduce(0) { $0 + $1.count }) {
            return .refused(problem)
        }
        if let handshakeLeaf, handshakeLeaf != certificates[0] {
            return .refused(
                TrustProblem(.malformed, "certificate 1 is not byte for byte the certificate that signed the handshake")
            )
        }
        var chain: [ParsedCertificate] = []
        chain.reserveCapacity(certificates.count)
        for (index, der) in certificates.enumerated() {
            do {
                chain.append(try ParsedCertificate(der: der))
            } catch {
                return .refused(TrustProblem(.malformed, "certificate \(index + 1) of \(certificates.count): \(error.reason)"))
            }
        }
        return .chain(chain)
    }

    /// Refuses a chain over the bounds.
    static func boundsProblem(count: Int, bytes: Int) -> TrustProblem? {
        if count > maximumCertificates {
            return TrustProblem(
                .tooComplex, "the peer presented \(count) certificates; at most \(maximumCertificates) are judged"
            )
        }
        if bytes > maximumBytes {
            return TrustProblem(.tooComplex, "the peer presented \(bytes) bytes of certificates; at most \(maximumBytes)")
        }
        return nil
    }
}
