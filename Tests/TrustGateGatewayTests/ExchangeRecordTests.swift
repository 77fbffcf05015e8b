import Foundation
import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("ExchangeRecord: what the access log says of a request")
struct ExchangeRecordTests {
    @Test("The access-log record: the request's fields, the backend's time, the whole duration")
    func record() throws {
        let exchange = try ProxyExchangeTests.exchange("/x")
        let start = NIODeadline.uptimeNanoseconds(1_000)
        var record = ExchangeRecord(request: exchange.request, start: start)
        #expect(record.upstreamNanoseconds == nil)
        record.upstreamSentAt = start + .nanoseconds(100)
        record.upstreamAnsweredAt = start + .nanoseconds(400)
        record.pool = "two"
        record.member = exchange.target
        let line = record.accessLogRecord(client: "c", status: 200, bodyBytes: 5, now: start + .nanoseconds(1_000), time: .init())
        #expect(line.upstreamNanoseconds == 300 && line.durationNanoseconds == 1_000)
        #expect((line.method, line.path, line.host, line.member, line.pool) == ("GET", "/x", "gw.test", "10.0.0.1:8443", "two"))
    }
}
