import Foundation
import NIOConcurrencyHelpers
import TrustGatePKI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One line per answered request, in `key=value` form:
///
///     time=2026-11-22T15:50:01.123Z client=10.0.0.9 host=www.contoso.test method=GET path=/images/a.png
///     status=200 pool=images member=10.0.0.4:443 upstream_ms=1.84 duration_ms=2.10 bytes=5120
///
/// (one line; `-` where there is no value, e.g. no member for a request answered by the gateway itself). Values
/// are logfmt: one with a space, `=`, `"`, `\\` or a control character is quoted, with `"` and `\\` escaped and
/// control characters written as `\\n`, `\\t` or `\\xHH`, so nothing from a request can make another field.
/// Lines are collected under a lock and written by one background queue, so the event loops never wait on
/// the file.
final class AccessLog: Sendable {
    struct Record {
        var time: Date
        var client: String
        var host: String
        var method: String
        var path: String
        var status: Int
        var pool: String
        var member: String
        /// From sending the request to the backend to its response head; nil when no backend answered.
        var upstreamNanoseconds: Int64?
        var durationNanoseconds: Int64
        /// Response body bytes sent to the client.
        var bytes: Int
    }

    private let descriptor: Int32
    private let closeOnDeinit: Bool
    private let pending = NIOLockedValueBox<(lines: [UInt8], scheduled: Bool)>(([], false))
    private let queue = DispatchQueue(label: "trustgate.access-log")

    /// `stdout`, or a file opened for appending (created 0640).
    init(destination: String) throws {
        if destination == "stdout" {
            descriptor = STDOUT_FILENO
            closeOnDeinit = false
        } else {
            descriptor = open(destination, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
            guard descriptor >= 0 else {
                throw ConfigurationProblems([ConfigurationProblem(
                    path: "access-log", line: nil, column: nil,
                    message: "cannot open \(destination): \(String(cString: strerror(errno)))"
                )])
            }
            closeOnDeinit = true
        }
    }

    deinit {
        if closeOnDeinit { close(descriptor) }
    }

    func log(_ record: Record) {
        let line = Self.format(record)
        let schedule = pending.withLockedValue { state in
            state.lines.append(contentsOf: line.utf8)
            defer { state.scheduled = true }
            return !state.scheduled
        }
        if schedule { queue.async { self.writePending() } }
    }

    /// Writes what is pending and waits for it (on shutdown).
    func flush() {
        queue.sync { writePending() }
    }

    private func writePending() {
        let lines = pending.withLockedValue { state in
            defer { state = ([], false) }
            return state.lines
        }
        var offset = 0
        while offset < lines.count {
            let written = lines[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }  // a full disk or a closed pipe: the lines are dropped, not retried
            offset += written
        }
    }

    static func format(_ record: Record) -> String {
        let field = Self.value
        func milliseconds(_ nanoseconds: Int64) -> String {
            String(format: "%.2f", Double(nanoseconds) / 1_000_000)
        }
        return "time=\(RFC3339.formatMilliseconds(record.time)) client=\(field(record.client)) host=\(field(record.host)) "
            + "method=\(field(record.method)) path=\(field(record.path)) status=\(record.status) pool=\(field(record.pool)) "
            + "member=\(field(record.member)) upstream_ms=\(record.upstreamNanoseconds.map(milliseconds) ?? "-") "
            + "duration_ms=\(milliseconds(record.durationNanoseconds)) bytes=\(record.bytes)\n"
    }

    /// A value as logfmt writes it: bare when it is made of safe characters, else quoted and escaped.
    static func value(_ text: String) -> String {
        guard !text.isEmpty else { return "-" }
        let bytes = Array(text.utf8)
        let safe = bytes.allSatisfy { $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "\"")
            && $0 != UInt8(ascii: "\\") }
        if safe { return text }
        var quoted: [UInt8] = [UInt8(ascii: "\"")]
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): quoted += Array("\\\"".utf8)
            case UInt8(ascii: "\\"): quoted += Array("\\\\".utf8)
            case UInt8(ascii: "\n"): quoted += Array("\\n".utf8)
            case UInt8(ascii: "\r"): quoted += Array("\\r".utf8)
            case UInt8(ascii: "\t"): quoted += Array("\\t".utf8)
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                quoted += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            default: quoted.append(byte)
            }
        }
        quoted.append(UInt8(ascii: "\""))
        return String(decoding: quoted, as: UTF8.self)
    }
}
