/// The leaf is valid for the expected name (``HostnameMatcher``): SANs only under `strict`; under `compatible`,
/// the CN of a leaf without DNS or IP SANs too.
struct IdentityCheck: PathCheck {
    func problems(in context: PathContext) -> [TrustProblem] {
        guard let identity = context.request.identity else { return [] }
        let leaf = context.leaf
        guard !HostnameMatcher.matches(leaf, identity, commonNameFallback: !context.isStrict) else { return [] }
        let names = leaf.subjectAlternativeNames.map(SubjectAlternativeName.display)
        let presented = names.isEmpty ? "no SAN, CN \(leaf.commonNames.joined(separator: ", "))" : names.joined(separator: ", ")
        var problem = TrustProblem(.hostnameMismatch, "expected \(identity), certificate is for \(presented)", certificate: leaf)
        if context.isStrict, names.isEmpty, HostnameMatcher.matches(leaf, identity, commonNameFallback: true) {
            problem.detail += " (only its CN names \(identity): the compatible profile accepts that, strict needs a SAN)"
        }
        return [problem]
    }
}
