import Testing
import TrustGatePKI
import TrustGateTesting

@Suite("Chains, roots and pins")
struct ChainAnalysisTests {
    @Test("The root is found whatever the order; a chain without it names the missing issuer")
    func roots() throws {
        let root = try TestIssuance.root("Chain Root")
        let intermediate = try TestIssuance.intermediate("Chain Intermediate", issuer: root)
        let leaf = try TestIssuance.leaf(issuer: intermediate)
        let shuffled = [intermediate.certificate, root.certificate, leaf.certificate]
        #expect(ChainAnalysis.orderedChain(shuffled).map(\.displayName)
                == ["backend.test", "Chain Intermediate", "Chain Root"])
        guard case .root(let found) = ChainAnalysis.findRoot(shuffled) else {
            Issue.record("no root found")
            return
        }
        #expect(found == root.certificate)
        guard case .incomplete(let last, let missing) = ChainAnalysis.findRoot([leaf.certificate, intermediate.certificate])
        else {
            Issue.record("an incomplete chain was reported as complete")
            return
        }
        #expect(last == intermediate.certificate)
        #expect(missing == root.certificate.subject)
        #expect(ChainAnalysis.roles(of: shuffled) == [.intermediate, .root, .leaf])
    }

    @Test("A same-named CA with another key is not taken as the issuer")
    func impostorRoot() throws {
        let real = try TestIssuance.root("Same Name")
        let impostor = try TestIssuance.root("Same Name")
        let leaf = try TestIssuance.leaf(issuer: real)
        #expect(ChainAnalysis.orderedChain([leaf.certificate, impostor.certificate]).count == 1)
    }

    @Test("Pins: sha256/base64 of the DER SubjectPublicKeyInfo, for certificates and keys")
    func pins() throws {
        let root = try TestIssuance.root()
        let bundle = CertificateBundle(format: .pem, certificates: [root.certificate], privateKeys: [root.key])
        let pins = SPKIPin.pins(of: bundle)
        #expect(pins.count == 2)
        #expect(pins[0].pin == root.certificate.spkiPin)
        #expect(pins[0].pin == pins[1].pin, "a key and its certificate have the same pin")
        #expect(pins[0].hex == root.certificate.spkiSHA256.hexString)
        #expect(pins[0].label == "Test Root (root)")
    }

    @Test("The test PKI has every scenario, with keys marked secret and a README naming each category")
    func testPKI() throws {
        let pki = try TestPKI()
        let names = Set(pki.files.map(\.name))
        for scenario in TestPKI.scenarios {
            #expect(names.contains("backend-\(scenario.name).pem"))
            #expect(names.contains("backend-\(scenario.name).key"))
        }
        let secretFiles = pki.files.filter { $0.isSecret }
        #expect(secretFiles.allSatisfy { [".key", ".pfx", ".pass"].contains(where: $0.name.hasSuffix) })
        let keyFiles = pki.files.filter { $0.name.hasSuffix(".key") }
        #expect(keyFiles.allSatisfy { $0.isSecret })
        let readme = String(decoding: try #require(pki.files.first { $0.name == "README.md" }).contents, as: UTF8.self)
        for scenario in TestPKI.scenarios {
            #expect(readme.contains("`backend-\(scenario.name).pem`"))
            #expect(readme.contains("`\(scenario.category.rawValue)`"))
        }
        let weak = try #require(pki.backends["weak-key"]).certificate
        #expect(weak.publicKey == KeyDescription(algorithm: "RSA", bits: 1024))
        #expect(weak.x509 == nil && weak.unusableReason != nil)
        let expired = try #require(pki.backends["expired"]).certificate
        #expect(expired.notAfter < .now)
        let notYet = try #require(pki.backends["not-yet-valid"]).certificate
        #expect(notYet.notBefore > .now)
    }
}
