// In-process benchmarks (not tests):
//   swift run -c release trustgate-bench verify [seconds]   trust evaluations/s of a 3-certificate chain,
//                                                            without and with the verdict cache, and OpenSSL 3's
//                                                            X509_verify_cert on the same chain beside it
//   swift run -c release trustgate-bench hostile [runs]     time to refuse hostile chains: 100 intermediates of one
//                                                            name, 1,000 name-constraint subtrees × 1,000 SANs
//   swift run -c release trustgate-bench store [entries]    the SQLite allow-list store at scale (default 100,000)
import COpenSSL
import Foundation
import TrustGateAllowList
import TrustGatePKI
import TrustGateTesting
import X509

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
    // OpenSSL 3 on the same chain, parsed once as ours is: X509_verify_cert with the host name checked.
    func x509(_ certificate: ParsedCertificate) -> OpaquePointer? {
        certificate.der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
    }
    guard let store = X509_STORE_new(), let rootX509 = x509(pki.root.certificate), X509_STORE_add_cert(store, rootX509) == 1,
        let leafX509 = x509(backend.certificate), let untrusted = trustgate_sk_X509_new_null()
    else {
        print("OpenSSL could not load the chain")
        exit(1)
    }
    for certificate in backend.chain { if let parsed = x509(certificate) { _ = trustgate_sk_X509_push(untrusted, parsed) } }
    await measure("OpenSSL 3 X509_verify_cert") {
        guard let context = X509_STORE_CTX_new() else { return TrustVerdict(chain: [], problems: [TrustProblem(.malformed, "")]) }
        defer { X509_STORE_CTX_free(context) }
        X509_STORE_CTX_init(context, store, leafX509, untrusted)
        X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(context), TestPKI.backendHost, 0)
        X509_STORE_CTX_set_purpose(context, 2)  // X509_PURPOSE_SSL_SERVER
        let verified = X509_verify_cert(context) == 1
        return TrustVerdict(chain: [], problems: verified ? [] : [TrustProblem(.untrustedRoot, "OpenSSL refused the chain")])
    }
    let cache = VerdictCache()
    await measure("with verdict cache") {
        var fresh = request
        fresh.time = Date()
        return await cache.verdict(for: fresh, evaluator: evaluator)
    }

case "hostile":
    let runs = Int(parameter ?? 20)
    let root = try CustomCertificate("Bench Root", ca: true)
    let anchors = TrustAnchors([root.certificate])
    let evaluator = TrustEvaluator()
    func time(_ label: String, _ request: TrustEvaluationRequest) {
        var samples: [Double] = []
        var verdict: TrustVerdict?
        for _ in 0..<runs {
            let start = Date()
            verdict = evaluator.evaluateNow(request)
            samples.append(Date().timeIntervalSince(start) * 1000)
        }
        samples.sort()
        let category = verdict.map { $0.isTrusted ? "trusted" : $0.category.rawValue } ?? "none"
        print(String(format: "%@: median %.2f ms, max %.2f ms over %d runs (%@)", label, samples[samples.count / 2],
                     samples[samples.count - 1], runs, category))
    }
    // 1,000 permitted subtrees on the intermediate, 1,000 SANs on the leaf: 10^6 comparisons.
    let subtrees = (0..<1_000).map { "zone\($0).example.test" }
    let constrained = try CustomCertificate("Constrained CA", issuer: root, ca: true,
                                            nameConstraints: NameConstraints(permittedDNSDomains: subtrees))
    let sans = (0..<1_000).map { GeneralName.dnsName("host\($0).zone\($0).example.test") }
    let wide = try CustomCertificate("host0.zone0.example.test", issuer: constrained, ca: false, sans: sans,
                                     extendedKeyUsage: [.serverAuth])
    time("1,000 subtrees x 1,000 SANs", TrustEvaluationRequest(
        presented: [wide.certificate, constrained.certificate], roots: anchors, identity: .dns("host0.zone0.example.test")
    ))
    // 100 intermediates of one name, each key certified by the next one's: every step has 100 candidates.
    let keys = try (0..<100).map { _ in try KeyAlgorithm.ecP256.generate() }
    let signers = try keys.map { try CustomCertificate("Hostile CA", key: $0, ca: true) }
    let ring = try keys.indices.map { index in
        try CustomCertificate("Hostile CA", issuer: signers[(index + 1) % keys.count], key: keys[index], ca: true).certificate
    }
    let leaf = try CustomCertificate("backend.test", issuer: signers[0], ca: false, sans: [.dnsName("backend.test")],
                                     extendedKeyUsage: [.serverAuth])
    time("100 same-named intermediates (presented)", TrustEvaluationRequest(
        presented: [leaf.certificate] + ring, roots: anchors, identity: .dns("backend.test")
    ))
    time("100 same-named intermediates (from --intermediates)", TrustEvaluationRequest(
        presented: [leaf.certificate], roots: anchors, intermediates: ring, identity: .dns("backend.test")
    ))

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
    print("usage: trustgate-bench verify [seconds] | hostile [runs] | store [entries]")
    exit(64)
}
