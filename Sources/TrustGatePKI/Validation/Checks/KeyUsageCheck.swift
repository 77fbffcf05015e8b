import X509

/// keyUsage and extendedKeyUsage (RFC 5280 §4.2.1.3, §4.2.1.12, §6.1.4(n); the CA/Browser Forum's profile under
/// `strict`):
/// - a CA whose keyUsage is present must assert keyCertSign (`bad-key-usage`); a certificate that is not a CA must
///   not assert keyCertSign (`profile-violation`); under `strict` a CA must carry a keyUsage at all;
/// - a leaf's keyUsage must allow a TLS key (digitalSignature, keyEncipherment or keyAgreement);
/// - an extendedKeyUsage on the leaf or an intermediate must include the purpose (serverAuth or clientAuth) or,
///   under `compatible`, anyExtendedKeyUsage; under `strict` the leaf must have one, neither critical nor with
///   anyExtendedKeyUsage, and the trust anchor must have none.
struct KeyUsageCheck: PathCheck {
    func problems(in context: PathContext) -> [TrustProblem] {
        var problems: [TrustProblem] = []
        let purpose = context.request.purpose
        let wanted: ExtendedKeyUsage.Usage = purpose == .server ? .serverAuth : .clientAuth
        let wantedName = purpose == .server ? "serverAuth" : "clientAuth"
        for (index, certificate) in context.path.enumerated() {
            let isLeaf = index == 0
            let isAnchor = context.isAnchor(index)
            let usage = (try? certificate.extensions.keyUsage) ?? nil
            if isLeaf {
                if let usage, !usage.digitalSignature, !usage.keyEncipherment, !usage.keyAgreement {
                    problems.append(TrustProblem(.badKeyUsage, "\(certificate.subject) keyUsage allows no TLS use", certificate: certificate))
                } else if let usage, context.isStrict, !usage.digitalSignature, !certificate.publicKey.algorithm.hasPrefix("RSA") {
                    // An EC or EdDSA key serves TLS only by signing.
                    problems.append(TrustProblem(
                        .badKeyUsage, "\(certificate.subject) has a \(certificate.publicKey.algorithm) key without digitalSignature",
                        certificate: certificate
                    ))
                }
                // RFC 5280 §4.2.1.3: keyCertSign only with cA TRUE.
                if !context.leafIsAnchor, usage?.keyCertSign == true, !certificate.isCA {
                    problems.append(.violation(.leafKeyCertSign, "the leaf \(certificate.subject) asserts keyCertSign", certificate: certificate))
                }
            } else if let usage {
                if !usage.keyCertSign {
                    problems.append(TrustProblem(
                        .badKeyUsage, "CA \(certificate.subject) may not sign certificates (keyUsage lacks keyCertSign)",
                        certificate: certificate
                    ))
                }
            } else if context.isStrict, certificate.version == 3 {
                problems.append(.violation(.caWithoutKeyUsage, "CA \(certificate.subject) has no keyUsage extension", certificate: certificate))
            }

            let extended = (try? certificate.extensions.extendedKeyUsage) ?? nil
            let extendedCritical = certificate.extensions[oid: .X509ExtensionID.extendedKeyUsage]?.critical ?? false
            if isAnchor, context.path.count > 1 {
                if context.isStrict, extended != nil {
                    problems.append(.violation(
                        .rootExtendedKeyUsage, "the root \(certificate.subject) carries an extendedKeyUsage", certificate: certificate
                    ))
                }
                continue
            }
            guard let extended else {
                if isLeaf, context.isStrict {
                    problems.append(.violation(
                        .leafWithoutExtendedKeyUsage, "the leaf \(certificate.subject) has no extendedKeyUsage (\(wantedName) needed)",
                        certificate: certificate
                    ))
                }
                continue
            }
            let anyUsage = extended.contains(.any)
            if !extended.contains(wanted), !(anyUsage && !context.isStrict) {
                problems.append(TrustProblem(
                    .badKeyUsage, "\(certificate.subject) is not allowed for \(purpose.rawValue) authentication "
                        + "(extendedKeyUsage lacks \(wantedName))",
                    certificate: certificate
                ))
            }
            if context.isStrict, purpose == .server, let forbidden = extended.first(where: { Self.forbiddenWithTLS.contains($0) }) {
                problems.append(.violation(
                    .mixedPurposes, "\(certificate.subject) combines TLS with another purpose in its extendedKeyUsage (\(forbidden))",
                    certificate: certificate
                ))
            }
            if context.isStrict, !isLeaf, anyUsage {
                problems.append(.violation(.caAnyExtendedKeyUsage, "CA \(certificate.subject) has anyExtendedKeyUsage", certificate: certificate))
            }
            if isLeaf, context.isStrict {
                if anyUsage {
                    problems.append(.violation(
                        .leafAnyExtendedKeyUsage, "the leaf \(certificate.subject) has anyExtendedKeyUsage", certificate: certificate
                    ))
                }
                if extendedCritical {
                    problems.append(.violation(
                        .leafCriticalExtendedKeyUsage, "the leaf \(certificate.subject) has a critical extendedKeyUsage",
                        certificate: certificate
                    ))
                }
            }
        }
        return problems
    }

    /// Purposes the CA/Browser Forum forbids beside serverAuth: code signing, e-mail protection, time stamping,
    /// OCSP signing, and Certificate Transparency's precertificate signing.
    static let forbiddenWithTLS: Set<ExtendedKeyUsage.Usage> = [
        .codeSigning, .emailProtection, .timeStamping, .ocspSigning,
        .certificateTransparency,
    ]
}
