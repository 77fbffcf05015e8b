import TrustGatePKI

/// Every outcome the gateway reports, in one vocabulary: the `x-trustgate-reason` header, log lines, metric labels,
/// backend-health JSON and messages. A trust verdict's ``ReasonCategory`` (`ok` included), or one of the
/// gateway's own outcomes. Written as its raw value (`hostname-mismatch`, `no-route`), which is the contract.
public enum GatewayOutcome: Hashable, Sendable, CustomStringConvertible, Codable {
    /// What the one evaluator said of a backend, or how reaching it failed (unreachable, timeout, handshake).
    case verdict(ReasonCategory)
    /// The client's request was refused before routing (400, 408's malformed cousins, 414, 431, 501).
    case badRequest
    /// No rule routes the request's path (404).
    case noRoute
    /// The backend's response could not be parsed or framed (502).
    case badResponse
    /// A health probe got a status outside the accepted ones.
    case unexpectedStatus
    /// A health probe's body lacks the configured match.
    case unexpectedBody
    /// A pool no rule routes to: never probed, so no category (`-`).
    case notRouted

    public static let ok = GatewayOutcome.verdict(.ok)

    public var rawValue: String {
        switch self {
        case .verdict(let category): return category.rawValue
        case .badRequest: return "bad-request"
        case .noRoute: return "no-route"
        case .badResponse: return "bad-response"
        case .unexpectedStatus: return "unexpected-status"
        case .unexpectedBody: return "unexpected-body"
        case .notRouted: return "-"
        }
    }

    /// The gateway's own outcomes, beside every ``ReasonCategory``.
    static let own: [GatewayOutcome] = [.badRequest, .noRoute, .badResponse, .unexpectedStatus, .unexpectedBody, .notRouted]

    public init?(rawValue: String) {
        if let category = ReasonCategory(rawValue: rawValue) {
            self = .verdict(category)
        } else if let own = Self.own.first(where: { $0.rawValue == rawValue }) {
            self = own
        } else {
            return nil
        }
    }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let outcome = GatewayOutcome(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown outcome \(text)"))
        }
        self = outcome
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
