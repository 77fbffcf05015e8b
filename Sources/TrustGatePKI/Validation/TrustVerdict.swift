/// The answer to "does this chain validate to a trusted root, for this name, now?": a value, never an error.
public struct TrustVerdict: Hashable, Sendable {
    /// The chain that was built, leaf first and root last, when the answer is yes; the best partial chain
    /// otherwise.
    public var chain: [ParsedCertificate]
    /// Empty when trusted; otherwise every problem found, the one to fix first at the front.
    public var problems: [TrustProblem]
    /// What else the user may do, when there is something: e.g. that the `compatible` profile accepts the chain.
    public var hint: String?

    public init(chain: [ParsedCertificate], problems: [TrustProblem]) {
        self.chain = chain
        self.problems = problems.sorted { TrustProblem.rank($0.category) < TrustProblem.rank($1.category) }
    }

    public var isTrusted: Bool { problems.isEmpty }

    /// `ok`, or the category of the first problem to fix.
    public var category: ReasonCategory { problems.first?.category ?? .ok }

    /// The first problem's detail, followed by the others.
    public var detail: String {
        guard let first = problems.first else {
            return "valid chain of \(chain.count) certificate\(chain.count == 1 ? "" : "s") to \(chain.last?.subject.description ?? "?")"
        }
        let rest = problems.dropFirst().map(\.description)
        return rest.isEmpty ? first.detail : first.detail + " (also: " + rest.joined(separator: "; ") + ")"
    }
}
