import Foundation
import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("PipelineQueue: requests pipelined behind the one in progress")
struct PipelineQueueTests {
    @Test("The pipeline queue counts what it holds, in order, and is over its limit past 64 KiB")
    func pipeline() throws {
        var queue = PipelineQueue()
        queue.append(.body(ByteBuffer(repeating: 0, count: 65_000)))
        queue.append(.end)
        #expect(queue.bytes == 65_016 && !queue.isOverLimit)
        queue.append(.body(ByteBuffer(repeating: 0, count: 1_000)))
        #expect(queue.isOverLimit)
        guard case .body(let first) = queue.popFirst(), first.readableBytes == 65_000 else {
            Issue.record("the first part first")
            return
        }
        #expect(queue.bytes == 1_016)
        queue.removeAll()
        #expect(queue.isEmpty && queue.bytes == 0)
    }
}
