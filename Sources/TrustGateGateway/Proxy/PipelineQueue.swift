import NIOCore

/// The parts of requests a client pipelined behind the one in progress (RFC 9112 §9.3), in order, with what they
/// hold in memory: reading the client stops while more than `limit` bytes wait.
struct PipelineQueue {
    static let limit = 65_536

    /// Room for one part to begin with: most clients never pipeline, and NIO's default of 16 parsed heads was
    /// 2.8 KB of every idle connection (massif, 1,500 idle TLS clients).
    private var parts = CircularBuffer<ProxyHandler.RequestPart>(initialCapacity: 1)
    private(set) var bytes = 0

    var isEmpty: Bool { parts.isEmpty }
    var isOverLimit: Bool { bytes > Self.limit }

    mutating func append(_ part: ProxyHandler.RequestPart) {
        parts.append(part)
        bytes += Self.size(of: part)
    }

    mutating func popFirst() -> ProxyHandler.RequestPart? {
        guard let part = parts.popFirst() else { return nil }
        bytes -= Self.size(of: part)
        return part
    }

    mutating func removeAll() {
        parts.removeAll()
        bytes = 0
    }

    /// What a part costs: its bytes, and a head's parsed form.
    static func size(of part: ProxyHandler.RequestPart) -> Int {
        switch part {
        case .head(let request): 256 + request.head.bytes.count + 32 * request.head.fields.count
        case .body(let buffer): buffer.readableBytes
        case .end: 16
        }
    }
}
