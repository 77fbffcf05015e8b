import COpenSSL
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Fetches the certificate chain a TLS server presents, exactly as sent, without judging it: the caller hands it
/// to the ``TrustEvaluator``. Uses the system OpenSSL 3 as the TLS client. Blocking: call it off any event loop.
public enum PeerChainFetcher {
    /// What came back: the chain, or why there is none, in the SPEC's categories.
    public enum Outcome: Sendable {
        case chain([ParsedCertificate])
        case failed(ReasonCategory, String)
    }

    /// Connects to `host:port`, sends `serverName` as SNI (nothing for an IP address), completes a handshake, and
    /// returns the presented chain. `timeout` bounds the connect and the handshake separately.
    public static func fetch(host: String, port: Int, serverName: String?, timeout: TimeInterval = 10) -> Outcome {
        let descriptor: Int32
        switch connect(host: host, port: port, timeout: timeout) {
        case .success(let value): descriptor = value
        case .failure(let failure): return .failed(failure.category, failure.detail)
        }
        defer { close(descriptor) }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))

        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            return .failed(.handshakeFailed, "OpenSSL: \(OpenSSLLibrary.drainErrors())")
        }
        defer { SSL_CTX_free(context) }
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)  // judged by TrustEvaluator, not here
        guard let ssl = SSL_new(context) else {
            return .failed(.handshakeFailed, "OpenSSL: \(OpenSSLLibrary.drainErrors())")
        }
        defer { SSL_free(ssl) }
        if let serverName, IPAddressBytes.parse(serverName) == nil {
            _ = trustgate_SSL_set_tlsext_host_name(ssl, serverName)
        }
        SSL_set_fd(ssl, descriptor)
        guard SSL_connect(ssl) == 1 else {
            let timedOut = errno == EAGAIN || errno == EWOULDBLOCK
            let detail = OpenSSLLibrary.drainErrors()
            if timedOut { return .failed(.timeout, "no TLS handshake from \(host):\(port) within \(Int(timeout)) s") }
            return .failed(.handshakeFailed, "TLS handshake with \(host):\(port) failed: \(detail)")
        }
        defer { SSL_shutdown(ssl) }
        guard let stack = SSL_get_peer_cert_chain(ssl) else {
            return .failed(.handshakeFailed, "\(host):\(port) presented no certificate")
        }
        var chain: [ParsedCertificate] = []
        for index in 0..<trustgate_sk_X509_num(stack) {
            guard let x509 = trustgate_sk_X509_value(stack, index),
                let der = OpenSSLLibrary.der({ i2d_X509(x509, $0) })
            else { continue }
            do {
                chain.append(try ParsedCertificate(der: der))
            } catch {
                return .failed(.malformed, "certificate \(index + 1) from \(host):\(port): \(error.reason)")
            }
        }
        return .chain(chain)
    }

    private struct Failure: Error {
        var category: ReasonCategory
        var detail: String
    }

    /// A connected TCP socket, trying every address the name resolves to.
    private static func connect(host: String, port: Int, timeout: TimeInterval) -> Result<Int32, Failure> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            return .failure(Failure(category: .unreachable, detail: "cannot resolve \(host): \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(first) }
        var lastError = "no address"
        var timedOut = false
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let address = cursor {
            cursor = address.pointee.ai_next
            let descriptor = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            guard descriptor >= 0 else { continue }
            let flags = fcntl(descriptor, F_GETFL, 0)
            _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
            var result = Glibc.connect(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen)
            if result != 0, errno == EINPROGRESS {
                var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&poller, 1, Int32(timeout * 1000))
                if ready == 0 {
                    timedOut = true
                    close(descriptor)
                    continue
                }
                var socketError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &socketError, &length)
                result = socketError == 0 ? 0 : -1
                errno = socketError
            }
            if result == 0 {
                _ = fcntl(descriptor, F_SETFL, flags)
                return .success(descriptor)
            }
            lastError = String(cString: strerror(errno))
            close(descriptor)
        }
        if timedOut {
            return .failure(Failure(category: .timeout, detail: "no TCP connection to \(host):\(port) within \(Int(timeout)) s"))
        }
        return .failure(Failure(category: .unreachable, detail: "cannot connect to \(host):\(port): \(lastError)"))
    }
}
