import Foundation

/// Every certificate on the path valid at the request's time (RFC 5280 §6.1.3(a)(2)), compared at whole-second
/// resolution: certificate times have no fraction, so the time's fraction is floored and `notAfter` is
/// inclusive (a certificate is still valid during its last second).
struct ValidityCheck: PathCheck {
    func problems(in context: PathContext) -> [TrustProblem] {
        let seconds = context.request.time.timeIntervalSince1970.rounded(.down)
        return context.path.compactMap { certificate in
            if seconds > certificate.notAfter.timeIntervalSince1970 {
                return TrustProblem(
                    .expired, "\(certificate.subject) expired at \(RFC3339.format(certificate.notAfter))",
                    certificate: certificate
                )
            }
            if seconds < certificate.notBefore.timeIntervalSince1970 {
                return TrustProblem(
                    .notYetValid, "\(certificate.subject) is not valid before \(RFC3339.format(certificate.notBefore))",
                    certificate: certificate
                )
            }
            return nil
        }
    }
}
