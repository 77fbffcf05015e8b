// In-process benchmarks (not tests):
//   swift run -c release trustgate-bench verify [seconds]   trust evaluations/s of a 3-certificate chain,
//                                                            without and with the verdict cache
//   swift run -c release trustgate-bench store [entries]    the SQLite allow-list store at scale (default 100,000)
import Foundation
import TrustGateAllowList
import TrustGatePKI

let mode = CommandLine.arguments.dropFirst().first ?? "verify"
let parameter = CommandLine.arguments.dropFirst(2).first.flatMap(Double.init)

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = Date()
    try body()
    return Date().timeIntervalSince(start)
}

switch mode {
case "verify":
    let duration = parameter ?? 3
    let pki = try TestPKI()
    guard let backend = pki.backends["valid"] else {
        print("the test PKI has no valid backend")
        exit(1)
    }
    let request = TrustEvaluationRequest(
        presented: [backend.certificate] + backend.chain, roots: TrustAnchors([pki.root.certificate]),
        identity: .dns(TestPKI.backendHost)
    )
    let evaluator = TrustEvaluator()
    func measure(_ label: String, _ body: () async -> TrustVerdict) async {
        var count = 0
        let start = Date()
        while Date().timeIntervalSince(start) < duration {
            for _ in 0..<100 {
                let verdict = await body()
                precondition(verdict.isTrusted, verdict.detail)
            }
            count += 100
        }
        let elapsed = Date().timeIntervalSince(start)
        let rate = Double(count) / elapsed
        print(String(format: "%@: %.0f verifications/s (%.1f µs each, %d in %.1f s)", label, rate, 1e6 / rate, count, elapsed))
    }
    await measure("without cache") { await evaluator.evaluate(request) }
    let cache = VerdictCache()
    await measure("with verdict cache") {
        var fresh = request
        fresh.time = Date()
        return await cache.verdict(for: fresh, evaluator: evaluator)
    }

case "store":
    let count = Int(parameter ?? 100_000)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trustgate-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try SQLiteAllowListStore(path: directory.appendingPathComponent("store.sqlite").path)
    let pem = try TestPKI().root.certificate.pem
    var generator = SystemRandomNumberGenerator()
    func fingerprint() -> String { (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }.hexString }
    func entry(_ index: Int) -> AllowListEntry {
        AllowListEntry(
            gateway: "big", name: "backend-\(index)", kind: .pinned, subject: "CN=backend-\(index).test",
            certificateSHA256: fingerprint(), spkiSHA256: fingerprint(), certificatePEM: pem,
            certificateNotAfter: Date().addingTimeInterval(86400 * 365), addedBy: "bench", addedAt: Date()
        )
    }
    let entries = (0..<count).map(entry)
    let bulk = try seconds { try store.importEntries(entries, gateway: "big", actor: "bench") }
    print(String(format: "import of %d entries in one transaction: %.2f s", count, bulk))
    let adds = 200
    let added = try seconds { for index in 0..<adds { try store.add(entry(count + index)) } }
    print(String(format: "add on top of %d entries, one transaction each (synchronous=FULL): %.2f ms per add",
                 count, added / Double(adds) * 1000))
    let probes = (0..<2000).map { _ in entries[Int.random(in: 0..<entries.count, using: &generator)] }
    var found = 0
    let byCertificate = try seconds {
        for probe in probes where try store.entry(gateway: "big", fingerprint: probe.certificateSHA256 ?? "") != nil {
            found += 1
        }
    }
    let bySPKI = try seconds {
        for probe in probes where try store.entry(gateway: "big", fingerprint: probe.spkiSHA256) != nil { found += 1 }
    }
    precondition(found == 2 * probes.count, "every probe is found")
    print(String(format: "lookup by certificate SHA-256 (indexed): %.1f µs; by SPKI SHA-256: %.1f µs",
                 byCertificate / Double(probes.count) * 1e6, bySPKI / Double(probes.count) * 1e6))
    var loaded = 0
    let load = try seconds { loaded = try store.entries(gateway: "big").count }
    print(String(format: "load one gateway's full allow-list (%d entries) into memory: %.2f s", loaded, load))
    let policy = try seconds { _ = AllowListPolicy(gateway: "big", entries: try store.entries(gateway: "big")) }
    print(String(format: "load + build the gateway's policy: %.2f s", policy))

default:
    print("usage: trustgate-bench verify [seconds] | store [entries]")
    exit(64)
}
