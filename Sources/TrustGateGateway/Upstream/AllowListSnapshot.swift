import Foundation
import TrustGateAllowList

/// A gateway's last-known-good allow-list: the entries and version last read from the store, and when. Written
/// atomically (a temporary file, fsync, rename) after every load, so a reader never sees half a file; read at
/// start when the store is unreachable, so a gateway never starts with an empty allow-list because its store
/// was down.
struct AllowListSnapshot: Codable, Sendable {
    static let format = "trustgate-allowlist-snapshot/1"

    var format: String
    var gateway: String
    /// The store it was read from (a path or a URL without secrets).
    var store: String
    var version: Int64
    var readAt: Date
    var entries: [AllowListEntry]

    init(gateway: String, store: String, version: Int64, readAt: Date = Date(), entries: [AllowListEntry]) {
        format = Self.format
        self.gateway = gateway
        self.store = store
        self.version = version
        self.readAt = readAt
        self.entries = entries
    }

    /// The default place: `$XDG_STATE_HOME/trustgate/GATEWAY.snapshot.json`, else `~/.local/state/trustgate/…`.
    static func defaultPath(gateway: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        StoreLocation.baseDirectory("XDG_STATE_HOME", else: ".local/state", environment: environment)
            + "/trustgate/\(gateway).snapshot.json"
    }

    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(self)
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
            )
        }
        let temporary = "\(path).\(getpid()).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: temporary]) }
        let written = data.withUnsafeBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let count = Foundation.write(descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += count
            }
            return true
        }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    /// The snapshot at `path` for `gateway`; nil when there is none. A file that is not a snapshot of this
    /// gateway is an error (it is never used, and never overwritten silently by a start from it).
    static func read(from path: String, gateway: String) throws(AllowListError) -> AllowListSnapshot? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path), data.count <= 1 << 30 else {
            throw .storeUnreadable("the allow-list snapshot cannot be read", path: path)
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let snapshot: AllowListSnapshot
        do {
            snapshot = try decoder.decode(AllowListSnapshot.self, from: data)
        } catch {
            throw .storeUnreadable("not an allow-list snapshot", path: path)
        }
        guard snapshot.format == format else {
            throw .storeUnreadable("the snapshot's format \(snapshot.format) is not \(format)", path: path)
        }
        guard snapshot.gateway == gateway, snapshot.entries.allSatisfy({ $0.gateway == gateway }) else {
            throw .storeUnreadable("the snapshot is of gateway \(snapshot.gateway), not \(gateway)", path: path)
        }
        return snapshot
    }
}
