import NIOCore
@testable import TrustGateGateway

/// Heads and requests from text, and what the parser refuses, for the suites that test HTTP/1.1 on bytes.
protocol HTTP1TestText {}

extension HTTP1TestText {
    func head(_ text: String, request: Bool = true) throws(HTTP1.ParseError) -> HTTP1.Head {
        try HTTP1.parse(Array(text.utf8), request: request)
    }

    func request(_ text: String, allowEncodedSlashes: Bool = false) throws(HTTP1.ParseError) -> HTTP1.Request {
        try HTTP1.Request(head(text), allowEncodedSlashes: allowEncodedSlashes)
    }

    func refusal(_ text: String, request isRequest: Bool = true) -> HTTP1.ParseError? {
        do {
            if isRequest {
                _ = try request(text)
            } else {
                _ = try HTTP1.responseFraming(try head(text, request: false), toHEAD: false)
            }
            return nil
        } catch {
            return error
        }
    }
}
