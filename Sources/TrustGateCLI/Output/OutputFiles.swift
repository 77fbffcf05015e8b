import Foundation
import TrustGatePKI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A set of files a command writes, all or nothing: every target is checked before anything is written, each
/// file goes to a temporary file in its directory (mode set before the first byte), is flushed to disk, and only
/// then renamed over the target. A failure leaves no partial file behind.
struct OutputFiles {
    struct Entry {
        var path: String
        var contents: [UInt8]
        /// Private keys: 0600. Everything else: 0644.
        var isSecret: Bool
        var label: String
    }

    private(set) var entries: [Entry] = []
    let force: Bool

    init(force: Bool) {
        self.force = force
    }

    mutating func add(_ path: String, _ contents: [UInt8], secret: Bool = false, label: String) throws(CLIError) {
        guard !path.isEmpty else { throw .usage("an output path is empty") }
        guard !entries.contains(where: { $0.path == path }) else {
            throw .usage("\(path) is named as two different outputs")
        }
        entries.append(Entry(path: path, contents: contents, isSecret: secret, label: label))
    }

    mutating func add(_ path: String, text: String, secret: Bool = false, label: String) throws(CLIError) {
        try add(path, Array(text.utf8), secret: secret, label: label)
    }

    /// Adds a PKCS#12 file (always 0600: it holds a key, or may be taken for one).
    mutating func addPFX(
        _ path: String, certificates: [ParsedCertificate], key: PrivateKeyMaterial?, password: Password,
        profile: PFXProfile, friendlyName: String?
    ) throws(CLIError) {
        let bytes: [UInt8]
        do {
            bytes = try PFXWriter.write(
                certificates: certificates, key: key, password: password, profile: profile, friendlyName: friendlyName
            )
        } catch {
            throw CLIError(error, what: "cannot write PFX")
        }
        try add(path, bytes, secret: true, label: "PKCS#12, \(profile.rawValue) profile\(key == nil ? ", no key" : "")")
    }

    /// Checks every target, then writes them all. Returns the entries written, in order.
    @discardableResult
    func commit() throws(CLIError) -> [Entry] {
        for entry in entries {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: entry.path, isDirectory: &isDirectory) {
                if isDirectory.boolValue { throw .writeFailed(entry.path, why: "is a directory") }
                if !force { throw .outputExists(entry.path) }
            }
            let directory = Self.directory(of: entry.path)
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                throw .writeFailed(entry.path, why: "the directory \(directory) does not exist")
            }
        }
        var staged: [(temporary: String, entry: Entry)] = []
        do throws(CLIError) {
            for entry in entries {
                staged.append((try Self.writeTemporary(entry), entry))
            }
            for (temporary, entry) in staged where rename(temporary, entry.path) != 0 {
                throw CLIError.writeFailed(entry.path, why: String(cString: strerror(errno)))
            }
        } catch {
            for (temporary, _) in staged { unlink(temporary) }
            throw error
        }
        return entries
    }

    private static func directory(of path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    private static func writeTemporary(_ entry: Entry) throws(CLIError) -> String {
        let name = (entry.path as NSString).lastPathComponent
        let temporary = (directory(of: entry.path) as NSString)
            .appendingPathComponent(".\(name).tmp-\(UInt32.random(in: .min ... .max))")
        let mode: mode_t = entry.isSecret ? 0o600 : 0o644
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw .writeFailed(entry.path, why: String(cString: strerror(errno)))
        }
        var failure: String?
        if fchmod(descriptor, mode) != 0 { failure = String(cString: strerror(errno)) }
        var offset = 0
        while failure == nil, offset < entry.contents.count {
            let written = entry.contents[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno))
            } else {
                offset += written
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = String(cString: strerror(errno)) }
        if close(descriptor) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw .writeFailed(entry.path, why: failure)
        }
        return temporary
    }
}
