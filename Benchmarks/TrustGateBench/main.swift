// In-process trust-evaluation throughput: verifications per second of a 3-certificate chain
// (leaf + intermediate presented, root trusted, host name checked), without and with the verdict cache.
// Run: swift run -c release trustgate-bench [seconds-per-measurement]
import Foundation
import TrustGatePKI

let seconds = CommandLine.arguments.dropFirst().first.flatMap(Double.init) ?? 3
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
    while Date().timeIntervalSince(start) < seconds {
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
