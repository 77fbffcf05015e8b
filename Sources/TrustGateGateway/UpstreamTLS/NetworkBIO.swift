import COpenSSL
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOTLS
import TrustGatePKI

/// The network side of an upstream TLS connection as an OpenSSL BIO over NIO buffers: OpenSSL reads the ciphertext
/// straight from the buffer the channel read (no copy into a memory BIO) and writes into the buffer the channel
/// sends. Used on the channel's event loop only.
final class NetworkBIO {
    var inbound: ByteBuffer?
    var outbound: ByteBuffer?
    private let allocator = ByteBufferAllocator()

    // Set up once and never changed afterwards: OpenSSL only reads a BIO_METHOD.
    nonisolated(unsafe) static let method: OpaquePointer? = {
        guard let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "trustgate-nio") else { return nil }
        BIO_meth_set_read(method, networkBIORead)
        BIO_meth_set_write(method, networkBIOWrite)
        BIO_meth_set_ctrl(method, networkBIOControl)
        BIO_meth_set_create(method, { bio in
            BIO_set_init(bio, 1)
            return 1
        })
        BIO_meth_set_destroy(method, { _ in 1 })
        return method
    }()

    fileprivate func read(into destination: UnsafeMutableRawPointer, count: Int) -> Int {
        guard var buffer = inbound, buffer.readableBytes > 0 else { return 0 }
        let length = min(count, buffer.readableBytes)
        buffer.withUnsafeReadableBytes { bytes in
            if let base = bytes.baseAddress { destination.copyMemory(from: base, byteCount: length) }
        }
        buffer.moveReaderIndex(forwardBy: length)
        inbound = buffer.readableBytes > 0 ? buffer : nil
        return length
    }

    fileprivate func write(_ source: UnsafeRawBufferPointer) {
        if outbound == nil { outbound = allocator.buffer(capacity: max(source.count, 16_640)) }
        outbound?.writeBytes(source)
    }
}

private func networkBIO(_ bio: OpaquePointer?) -> NetworkBIO? {
    guard let bio, let raw = BIO_get_data(bio) else { return nil }
    return Unmanaged<NetworkBIO>.fromOpaque(raw).takeUnretainedValue()
}

private func networkBIORead(_ bio: OpaquePointer?, _ destination: UnsafeMutablePointer<CChar>?, _ count: Int32) -> Int32 {
    guard let bio, let destination, count > 0, let network = networkBIO(bio) else { return -1 }
    trustgate_BIO_clear_retry_flags(bio)
    let read = network.read(into: UnsafeMutableRawPointer(destination), count: Int(count))
    guard read > 0 else {
        trustgate_BIO_set_retry_read(bio)
        return -1
    }
    return Int32(read)
}

private func networkBIOWrite(_ bio: OpaquePointer?, _ source: UnsafePointer<CChar>?, _ count: Int32) -> Int32 {
    guard let bio, let source, count >= 0, let network = networkBIO(bio) else { return -1 }
    trustgate_BIO_clear_retry_flags(bio)
    network.write(UnsafeRawBufferPointer(start: UnsafeRawPointer(source), count: Int(count)))
    return count
}

private func networkBIOControl(_ bio: OpaquePointer?, _ command: Int32, _: Int, _: UnsafeMutableRawPointer?) -> Int {
    switch command {
    case BIO_CTRL_FLUSH:
        return 1
    case BIO_CTRL_PENDING:
        return networkBIO(bio)?.inbound?.readableBytes ?? 0
    case BIO_CTRL_WPENDING:
        return networkBIO(bio)?.outbound?.readableBytes ?? 0
    default:
        return 0
    }
}
