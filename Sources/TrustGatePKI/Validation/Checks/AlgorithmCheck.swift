/// RSA keys under 2048 bits anywhere on the path, and SHA-1 or MD5 signatures below the trust anchor (an anchor's
/// own signature is never relied on): `weak-key`.
struct AlgorithmCheck: PathCheck {
    func problems(in context: PathContext) -> [TrustProblem] {
        context.path.enumerated().compactMap { index, certificate in
            if certificate.publicKey.isWeak {
                return TrustProblem(
                    .weakKey, "\(certificate.subject) has a \(certificate.publicKey.bits)-bit RSA key (at least 2048)",
                    certificate: certificate
                )
            }
            if certificate.hasWeakSignature, !context.isAnchor(index) {
                return TrustProblem(
                    .weakKey, "\(certificate.subject) is signed with \(certificate.signatureAlgorithmName)",
                    certificate: certificate
                )
            }
            return nil
        }
    }
}
