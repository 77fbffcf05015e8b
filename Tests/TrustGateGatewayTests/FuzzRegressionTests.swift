import Foundation
import Testing
import TrustGateFuzzing
import TrustGateTesting

/// Every input a fuzzer ever crashed on, and the seed inputs of each target, run again through the same target:
/// each must now return (a refusal or a result). `Tests/FuzzRegressions/TARGET/` holds them.
@Suite("Fuzz regressions: committed inputs replayed through every fuzz target")
struct FuzzRegressionTests {
    static let root = TrustGateBinary.packageRoot + "/Tests/FuzzRegressions"

    @Test("Each target's committed inputs run to completion", arguments: FuzzTarget.allCases)
    func replay(target: FuzzTarget) throws {
        let directory = Self.root + "/" + target.rawValue
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(!names.isEmpty, "no inputs for \(target.rawValue) in \(directory)")
        for name in names {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
                Issue.record("cannot read \(name)")
                continue
            }
            target.run(Array(data))
        }
    }
}
