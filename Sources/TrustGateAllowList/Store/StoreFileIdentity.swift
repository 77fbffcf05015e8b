import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Which file a path names right now: its device and inode. A store file replaced under a running gateway
/// (`mv new.sqlite store.sqlite`) keeps its path and changes its identity; a deleted one has none.
public struct StoreFileIdentity: Hashable, Sendable, CustomStringConvertible {
    public let device: UInt64
    public let inode: UInt64

    /// The identity of the file at `path`, or nil when there is none (missing, or not reachable).
    public static func of(_ path: String) -> StoreFileIdentity? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return StoreFileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    public var description: String { "device \(device), inode \(inode)" }
}
