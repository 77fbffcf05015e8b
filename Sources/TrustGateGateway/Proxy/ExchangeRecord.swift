import Foundation
import NIOCore

/// What the metrics and the access log say about one request: from its head (or its refusal) until it is
/// answered.
struct ExchangeRecord {
    var request: HTTP1.Request?
    var pool = "-"
    var member = "-"
    var start: NIODeadline
    var upstreamSentAt: NIODeadline?
    var upstreamAnsweredAt: NIODeadline?
    /// The backend's status and the body bytes relayed so far.
    var status = 0
    var bytes = 0

    init(request: HTTP1.Request?, start: NIODeadline) {
        self.request = request
        self.start = start
    }

    /// The record of the answer (`status`, `bodyBytes` sent to the client) at `now`.
    func accessLogRecord(client: String, status: Int, bodyBytes: Int, now: NIODeadline, time: Date) -> AccessLog.Record {
        AccessLog.Record(
            time: time, client: client, host: request?.host ?? "", method: request?.head.method ?? "",
            path: request?.target.originForm ?? "", status: status, pool: pool, member: member,
            upstreamNanoseconds: upstreamNanoseconds, durationNanoseconds: (now - start).nanoseconds, bytes: bodyBytes
        )
    }

    /// From sending the request to the backend to its response head; nil when no backend answered.
    var upstreamNanoseconds: Int64? {
        upstreamSentAt.flatMap { sent in upstreamAnsweredAt.map { ($0 - sent).nanoseconds } }
    }
}
