import X509

/// Bounds the name-constraint work of one evaluation, as rustls-webpki does (250,000 comparisons): each CA's
/// permitted and excluded subtrees are compared with every name of every certificate below it on the path, so
/// a hostile chain of a few thousand SANs under a few thousand subtrees would otherwise cost seconds of CPU.
/// Counted before the comparisons are made; a path over the budget is `too-complex`.
struct NameConstraintBudget {
    static let maximumComparisons = 250_000

    private(set) var spent = 0

    /// Charges the comparisons `path` (leaf first) needs; the problem when the evaluation's budget is exceeded.
    mutating func spend(on path: [ParsedCertificate]) -> TrustProblem? {
        var namesBelow = 0
        for certificate in path {
            if let ext = certificate.extensions[oid: .X509ExtensionID.nameConstraints],
                let constraints = try? NameConstraintsCheck.Subtrees(ext.value)
            {
                let subtrees = constraints.permitted.count + constraints.excluded.count
                let (product, overflow) = subtrees.multipliedReportingOverflow(by: namesBelow)
                let (total, overflowAgain) = spent.addingReportingOverflow(product)
                guard !overflow, !overflowAgain, total <= Self.maximumComparisons else {
                    return TrustProblem(
                        .tooComplex,
                        "name constraints of \(certificate.subject) need more than \(Self.maximumComparisons) comparisons",
                        certificate: certificate
                    )
                }
                spent = total
            }
            // Every name the constraints look at: the subject, its e-mail addresses, each SAN (valid or not).
            let names = CertificateNames(certificate)
            namesBelow += names.all.count + names.invalid.count
        }
        return nil
    }
}
