import COpenSSL
import NIOCore
import Testing
@testable import TrustGateGateway

@Suite("NetworkBIO: OpenSSL's reads and writes straight on NIO buffers")
struct NetworkBIOTests {
    @Test("OpenSSL reads what arrived, in pieces, and is told to retry when nothing is left; its writes collect")
    func readAndWrite() throws {
        let network = NetworkBIO()
        let bio = try #require(BIO_new(try #require(NetworkBIO.method)))
        defer { BIO_free(bio) }
        BIO_set_data(bio, Unmanaged.passUnretained(network).toOpaque())

        network.inbound = ByteBuffer(string: "hello world")
        var bytes = [UInt8](repeating: 0, count: 5)
        #expect(BIO_read(bio, &bytes, 5) == 5)
        #expect(String(decoding: bytes, as: UTF8.self) == "hello")
        var rest = [UInt8](repeating: 0, count: 64)
        #expect(BIO_read(bio, &rest, 64) == 6)
        #expect(network.inbound == nil, "all taken")
        #expect(BIO_read(bio, &rest, 64) <= 0)
        #expect(BIO_test_flags(bio, BIO_FLAGS_SHOULD_RETRY) != 0, "no data yet is a retry, not an end of stream")

        let out = Array("record".utf8)
        #expect(BIO_write(bio, out, Int32(out.count)) == Int32(out.count))
        #expect(BIO_write(bio, out, Int32(out.count)) == Int32(out.count))
        #expect(network.outbound.map { String(buffer: $0) } == "recordrecord")
    }
}
