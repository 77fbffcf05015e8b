import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A malicious backend for tests: accepts TCP connections on 127.0.0.1 (a kernel-chosen port) and never sends a
/// byte, reading until the peer closes. It counts connections accepted and still open, so a test can check
/// that the gateway gave up on every one of them. Stopped by ``stop()``.
///
/// With `reply`, it answers the first bytes it reads with exactly those bytes, once, then falls silent: a
/// protocol peer that breaks the protocol on its first answer (a PostgreSQL server injecting plaintext after
/// accepting TLS, say).
public final class SilentBackend: @unchecked Sendable {
    public let port: Int
    private let reply: [UInt8]?
    private let listener: Int32
    private let lock = NSLock()
    private var accepted = 0
    private var open = 0
    private var stopped = false
    private var descriptors: Set<Int32> = []

    public init(reply: [UInt8]? = nil) throws {
        self.reply = reply
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw ProcessRunner.Failure.failed("socket(): errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ready = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 128) == 0
                    && getsockname(listener, pointer, &length) == 0
            }
        }
        guard ready else {
            close(listener)
            throw ProcessRunner.Failure.failed("cannot listen on 127.0.0.1: errno \(errno)")
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Connections accepted so far, and how many of them the peer has not closed.
    public var counts: (accepted: Int, open: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (accepted, open)
    }

    /// Waits up to `timeout` for every accepted connection to be closed by the peer; the open count at the end.
    public func waitUntilAllClosed(timeout: TimeInterval) -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        while counts.open > 0, Date() < deadline { usleep(20_000) }
        return counts.open
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else {
                lock.lock()
                let done = stopped
                lock.unlock()
                if done || errno == EBADF || errno == EINVAL { return }
                continue
            }
            lock.lock()
            accepted += 1
            open += 1
            descriptors.insert(connection)
            lock.unlock()
            Thread.detachNewThread { [self] in drain(connection) }
        }
    }

    /// Reads and discards until the peer closes (or the backend is stopped).
    private func drain(_ connection: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        if let reply, read(connection, &buffer, buffer.count) > 0 {
            _ = reply.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
        }
        while read(connection, &buffer, buffer.count) > 0 {}
        lock.lock()
        open -= 1
        let owned = descriptors.remove(connection) != nil
        lock.unlock()
        if owned { close(connection) }
    }

    public func stop() {
        lock.lock()
        stopped = true
        let remaining = descriptors
        descriptors.removeAll()
        lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for connection in remaining { shutdown(connection, Int32(SHUT_RDWR)) }
    }
}
