import Foundation
import TrustGateFuzzing

#if TRUSTGATE_FUZZING
import CLibFuzzer

// Built by scripts/fuzz.sh with -sanitize=fuzzer: main() hands over to libFuzzer's driver, which calls back for
// every input. The target is named by TRUSTGATE_FUZZ_TARGET.
nonisolated(unsafe) private var selected = FuzzTarget.certificate

@main
struct FuzzMain {
    static func main() {
        let name = ProcessInfo.processInfo.environment["TRUSTGATE_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            print("TRUSTGATE_FUZZ_TARGET must be one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
            exit(64)
        }
        selected = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        })
    }
}
#else
/// Without the fuzzer: `trustgate-fuzz TARGET FILE…` runs each file through the target (to replay a crash).
@main
struct FuzzReplay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: trustgate-fuzz TARGET FILE...  (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))")
            exit(64)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("cannot read \(path)")
                exit(66)
            }
            target.run(Array(data))
            print("\(name) \(path): ok")
        }
    }
}
#endif
