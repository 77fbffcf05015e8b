import X509

/// RFC 5280 §6.1.4(k) and (l)–(m): every certificate that issues another on the path is a CA (a v3 certificate
/// with basicConstraints cA TRUE; a v1 or v2 one only as the trust anchor, and only under `compatible`), and no
/// CA has more non-self-issued intermediates below it than its pathLenConstraint allows (self-issued ones do not
/// count; a leaf's pathLenConstraint means nothing). The request's maximum counts intermediates the same way.
///
/// In both profiles: basicConstraints critical in every CA certificate (RFC 5280 §4.2.1.9 MUST), `profile-violation`.
/// (A CA certificate as the leaf is ``ServerProfileCheck``'s: RFC 5280 allows it, the Web PKI does not.)
struct BasicConstraintsCheck: PathCheck {
    func problems(in context: PathContext) -> [TrustProblem] {
        var problems: [TrustProblem] = []
        let path = context.path
        var nonSelfIssuedIntermediates = 0
        for index in path.indices.dropFirst() {
            let certificate = path[index]
            let constraints = (try? certificate.extensions.basicConstraints) ?? nil
            let isAnchor = context.isAnchor(index)
            switch constraints {
            case .isCertificateAuthority(let maxPathLength):
                if let maxPathLength, nonSelfIssuedIntermediates > maxPathLength {
                    problems.append(TrustProblem(
                        .pathLengthExceeded,
                        "\(certificate.subject) allows \(maxPathLength) intermediate\(maxPathLength == 1 ? "" : "s") below it, "
                            + "the path has \(nonSelfIssuedIntermediates)",
                        certificate: certificate
                    ))
                }
                if certificate.extensions[oid: .X509ExtensionID.basicConstraints]?.critical == false {
                    problems.append(.violation(
                        .basicConstraintsNotCritical, "CA \(certificate.subject) has a basicConstraints extension that is not critical",
                        certificate: certificate
                    ))
                }
            case .notCertificateAuthority, nil:
                if certificate.version < 3, isAnchor, !context.isStrict { break }  // a v1 root, taken as trusted
                problems.append(TrustProblem(
                    .notACA,
                    "\(certificate.subject) issued \(path[index - 1].subject) but is not marked as a CA "
                        + (constraints == nil ? "(no basicConstraints)" : "(basicConstraints cA FALSE)"),
                    certificate: certificate
                ))
            }
            // Intermediates below the next CA up: this one counts unless it is self-issued (RFC 5280 §6.1.4(l)).
            if !isAnchor, !certificate.isSelfIssued { nonSelfIssuedIntermediates += 1 }
        }
        if nonSelfIssuedIntermediates > context.request.maximumIntermediates {
            problems.append(TrustProblem(
                .pathLengthExceeded,
                "the path has \(nonSelfIssuedIntermediates) intermediates; at most \(context.request.maximumIntermediates) are allowed"
            ))
        }
        return problems
    }
}
