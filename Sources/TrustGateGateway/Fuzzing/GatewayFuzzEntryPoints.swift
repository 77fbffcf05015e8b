import NIOCore
import TrustGatePKI

/// The gateway's parsers as the fuzz targets drive them (`scripts/fuzz.sh`, `trustgate-fuzz`): bytes in, a
/// refusal or a result out, never a trap. Each feeds its input as the gateway's data path does, in pieces
/// whose sizes come from the input's first byte, so split points are explored too.
@_spi(Fuzzing)
public enum GatewayFuzzEntryPoints {
    /// A client's bytes: request heads, their framing, and their bodies, as many messages as the bytes hold.
    public static func requestStream(_ bytes: [UInt8]) {
        messages(bytes, request: true)
    }

    /// A backend's bytes: response heads, their framing (to a GET), and their bodies.
    public static func responseStream(_ bytes: [UInt8]) {
        messages(bytes, request: false)
    }

    /// A chunked body on its own, relayed and de-chunked.
    public static func chunkedBody(_ bytes: [UInt8]) {
        for output in [BodyReader.Output.reframe, .dechunk] {
            var reader = BodyReader(.chunked, output: output)
            var slices: [ByteBuffer] = []
            for piece in pieces(bytes) {
                var buffer = ByteBuffer(bytes: piece)
                do {
                    if try reader.read(&buffer, into: &slices) { break }
                } catch {
                    break
                }
                slices.removeAll(keepingCapacity: true)
            }
        }
    }

    /// A backend's TLS `Certificate` handshake message, read as TLS 1.2 and as TLS 1.3, then the chain built from
    /// it as the upstream handshake builds it.
    public static func certificateMessage(_ bytes: [UInt8]) {
        for tls13 in [false, true] {
            if let certificates = TLSCertificateMessage.certificates(bytes, tls13: tls13) {
                _ = PresentedChain.parse(certificates, handshakeLeaf: certificates.first)
            }
        }
    }

    /// A `gateway.yaml`.
    public static func configuration(_ bytes: [UInt8]) {
        _ = try? GatewayConfiguration.load(yaml: String(decoding: bytes, as: UTF8.self), baseDirectory: "/nonexistent")
    }

    private static func messages(_ bytes: [UInt8], request: Bool) {
        if request {
            let framer = HTTP1RequestFramer(allowEncodedSlashes: bytes.count % 3 == 0)
            read(bytes, framer: framer) { request in
                _ = (request.target.originForm, request.host, request.expectsContinue, request.head.isKeepAlive)
                _ = request.head.fields.map(request.head.isNominated)
                var forwarded = ByteBuffer()
                request.writeForwardedHead(host: request.host, into: &forwarded)
                // A WebSocket handshake, once recognised, is exactly what RFC 6455 §4.1 allows.
                if request.webSocket != nil {
                    precondition(request.head.minorVersion == 1 && !request.framing.hasBody, "a WebSocket handshake with a body")
                }
            }
        } else {
            var framer = HTTP1ResponseFramer(dechunk: bytes.count % 2 == 0)
            // A third of the inputs answer a WebSocket handshake (RFC 6455's example key): their 101s are judged.
            if bytes.count % 3 == 0 { framer.webSocket = WebSocketUpgrade(expectedAccept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") }
            read(bytes, framer: framer) { head, _ in
                _ = (head.isKeepAlive, head.fields.map(head.isNominated))
            }
        }
    }

    private static func read<Framer: HTTP1MessageFramer>(
        _ bytes: [UInt8], framer: Framer, _ inspect: (Framer.Message) -> Void
    ) {
        var reader = HTTP1MessageReader<Framer>(request: framer is HTTP1RequestFramer)
        do {
            for piece in pieces(bytes) {
                var buffer = ByteBuffer(bytes: piece)
                while let part = try reader.next(&buffer, framer: framer, allocator: ByteBufferAllocator()) {
                    if case .head(let message) = part { inspect(message) }
                }
            }
            _ = reader.finish(allocator: ByteBufferAllocator())
        } catch {
            return
        }
    }

    /// The input after its first byte, in pieces of 1 to 64 bytes (the first byte's low six bits, plus one).
    private static func pieces(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        guard let first = bytes.first else { return [] }
        let size = Int(first & 0x3F) + 1
        var result: [ArraySlice<UInt8>] = []
        var start = 1
        while start < bytes.count {
            let end = min(bytes.count, start + size)
            result.append(bytes[start..<end])
            start = end
        }
        return result
    }
}
