import Foundation
import Testing
import TrustGateAllowList
import TrustGatePKI
import TrustGateTesting

/// Runs `body` with a new, empty store of `kind`: an SQLite file, or a new database on the shared test cluster.
func withStore(_ kind: StoreKind, _ body: (any AllowListStore) async throws -> Void) async throws {
    try await withTemporaryDirectory { dir in
        let store = try StoreLocation.open(try kind.location(in: dir))
        defer { (store as? PostgresAllowListStore)?.close() }
        try await body(store)
    }
}

@Suite("Registration rules, the stores and the allow-list policy")
struct AllowListStoreTests {
    static let pki = Result { try TestPKI() }

    func bundle(_ name: String) throws -> CertificateBundle {
        let file = try #require(try Self.pki.get().files.first { $0.name == name })
        return try CertificateBundle.decode(file.contents)
    }

    func entry(_ name: String, gateway: String = "g1", kind: EntryKind? = nil, allowExpired: Bool = false) throws
        -> AllowListEntry
    {
        try EntryRegistration(gateway: gateway, kind: kind, allowExpired: allowExpired)
            .entry(from: try bundle(name), file: name, actor: "test")
    }

    @Test("Kinds are detected; keys, leafs and intermediates as roots, and expired certificates are refused")
    func registrationRules() throws {
        #expect(try entry("backend-valid.pem").kind == .pinned)
        #expect(try entry("root-ca.pem").kind == .trustedRoot)
        #expect(try entry("backend-valid.fullchain.pem", kind: .trustedRoot).subject == "CN=TrustGate Test Root CA")
        let key = #expect(throws: AllowListError.self) { try self.entry("backend-valid.key") }
        #expect(key?.reason.contains("private key") == true && key?.code == .refused)
        let leafAsRoot = #expect(throws: AllowListError.self) { try self.entry("backend-valid.pem", kind: .trustedRoot) }
        #expect(leafAsRoot?.reason.contains("leaf certificate") == true)
        let intermediate = #expect(throws: AllowListError.self) { try self.entry("intermediate-ca.pem", kind: .trustedRoot) }
        #expect(intermediate?.hint?.contains("cert root") == true)
        let expired = #expect(throws: AllowListError.self) { try self.entry("backend-expired.pem") }
        #expect(expired?.hint?.contains("--allow-expired") == true)
        #expect(try entry("backend-expired.pem", allowExpired: true).kind == .pinned)
    }

    @Test("Add, look up by fingerprint, refuse duplicates, remove; the version rises; the history records it", arguments: StoreKind.allCases)
    func storeLifecycle(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let valid = try entry("backend-valid.pem")
            #expect(try store.version(gateway: "g1") == 0)
            #expect(try store.add(valid) == 1)
            #expect(try store.add(try entry("root-ca.pem")) == 2)
            let duplicate = #expect(throws: AllowListError.self) { try store.add(valid) }
            #expect(duplicate?.reason == "already registered as backend.test on gateway g1")
            var renamed = try entry("backend-wrong-host.pem")
            renamed.name = "backend.test"
            #expect(throws: AllowListError.self) { try store.add(renamed) }
            #expect(try store.entry(gateway: "g1", fingerprint: valid.certificateSHA256 ?? "")?.name == "backend.test")
            #expect(try store.entry(gateway: "g1", fingerprint: valid.spkiPin)?.name == "backend.test")
            #expect(try store.entries(gateway: "g2").isEmpty)
            #expect(try store.remove(gateway: "g1", selector: "backend.test", actor: "test").name == "backend.test")
            #expect(throws: AllowListError.self) { try store.remove(gateway: "g1", selector: "backend.test", actor: "t") }
            #expect(try store.version(gateway: "g1") == 3)
            #expect(try store.history(gateway: "g1").map(\.action) == ["add", "add", "remove"])
            if let sqlite = store as? SQLiteAllowListStore { #expect(try sqlite.integrityCheck() == "ok") }
        }
    }

    @Test("A change made only at a given version: applied at that version, refused at another with nothing written", arguments: StoreKind.allCases)
    func conditionalChange(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let conflict = #expect(throws: AllowListError.self) { try store.add(try self.entry("root-ca.pem"), ifVersion: 1) }
            let untouched = try store.entries(gateway: "g1")
            #expect(conflict?.code == .versionConflict && untouched.isEmpty)
            let first = try store.add(try entry("root-ca.pem"), ifVersion: 0)
            #expect(first == 1, "0: no list yet")
            let second = try store.add(try entry("backend-valid.pem"), ifVersion: 1)
            #expect(second == 2)
            // Someone else changed the list after version 2 was read.
            let stale = #expect(throws: AllowListError.self) {
                try store.add(try self.entry("backend-wrong-host.pem"), ifVersion: 1)
            }
            #expect(stale?.code == .versionConflict)
            let staleRemove = #expect(throws: AllowListError.self) {
                try store.remove(gateway: "g1", selector: "backend.test", actor: "t", ifVersion: 1)
            }
            #expect(staleRemove?.code == .versionConflict)
            let (version, entries) = (try store.version(gateway: "g1"), try store.entries(gateway: "g1"))
            #expect(version == 2 && entries.count == 2, "nothing written")
            #expect(try store.history(gateway: "g1").map(\.action) == ["add", "add"])
            let removed = try store.remove(gateway: "g1", selector: "backend.test", actor: "t", ifVersion: 2)
            #expect(removed.name == "backend.test")
            #expect(try store.version(gateway: "g1") == 3)
        }
    }

    @Test("Import is all or nothing; export → import round-trips", arguments: StoreKind.allCases)
    func importAllOrNothing(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try store.add(try entry("root-ca.pem", gateway: "g2"))
            let document = AllowListDocument(gateway: "g1", entries: [try entry("backend-valid.pem"), try entry("root-ca.pem")])
            let decoded = try AllowListDocument.decode(try document.encoded(), file: nil)
            let entries = try decoded.storeEntries(gateway: "g2", actor: "test", file: nil)
            #expect(throws: AllowListError.self) { try store.importEntries(entries, gateway: "g2", actor: "test") }
            #expect(try store.entries(gateway: "g2").count == 1, "nothing of the failed import was kept")
            try store.importEntries(entries, gateway: "g3", actor: "test")
            #expect(try store.entries(gateway: "g3").map(\.name).sorted() == ["TrustGate Test Root CA", "backend.test"])
            var tampered = decoded
            tampered.entries[0].spkiSha256 = String(repeating: "0", count: 64)
            #expect(throws: AllowListError.self) { try tampered.storeEntries(gateway: "g4", actor: "t", file: nil) }
            #expect(throws: AllowListError.self) { try AllowListDocument.decode(Data("{\"format\": 1}".utf8), file: nil) }
        }
    }

    @Test("A file that is not SQLite, or is truncated, is refused and left byte for byte as it was")
    func corruptStores() async throws {
        try await withTemporaryDirectory { dir in
            let text = try dir.write("notes.sqlite", text: "these are my notes, not a database\n")
            let before = try dir.read("notes.sqlite")
            let notSQLite = #expect(throws: AllowListError.self) { try SQLiteAllowListStore(path: text) }
            #expect(notSQLite?.code == .storeUnreadable)
            #expect(try dir.read("notes.sqlite") == before)
            // An empty file holds nothing to lose (it is what a concurrent creator leaves): it becomes a store.
            let empty = try dir.write("empty.sqlite", [])
            #expect(try SQLiteAllowListStore(path: empty).integrityCheck() == "ok")

            let path = dir.file("real.sqlite")
            do {
                let store = try SQLiteAllowListStore(path: path)
                for index in 0..<40 {
                    var entry = try entry("backend-valid.pem")
                    entry.name = "e\(index)"
                    entry.certificateSHA256 = String(format: "%064x", index)
                    try store.add(entry)
                }
            }
            let full = try dir.read("real.sqlite")
            try dir.write("cut.sqlite", Array(full.prefix(full.count / 2)))
            let cut = #expect(throws: AllowListError.self) { try SQLiteAllowListStore(path: dir.file("cut.sqlite")) }
            #expect(cut?.code == .storeUnreadable)
            #expect(try dir.read("cut.sqlite").count == full.count / 2)
        }
    }

    @Test("Policy: pinned leaf, trusted root with host name, SPKI pins with a staged next key")
    func policy() async throws {
        let pki = try Self.pki.get()
        let valid = try bundle("backend-valid.pem").certificates
        let wrongHost = try bundle("backend-wrong-host.pem").certificates
        let pinned = AllowListPolicy(gateway: "g", entries: [try entry("backend-valid.pem")])
        #expect(await pinned.evaluate(presented: valid, identity: .dns("backend.test"), mode: .pinned).isTrusted)
        #expect(await pinned.evaluate(presented: wrongHost, identity: nil, mode: .pinned).category == .notAllowlisted)
        let rooted = AllowListPolicy(gateway: "g", entries: [try entry("root-ca.pem")])
        #expect(await rooted.evaluate(presented: valid, identity: .dns("backend.test"), mode: .trustedRoot).isTrusted)
        #expect(await rooted.evaluate(presented: wrongHost, identity: .dns("backend.test"), mode: .trustedRoot).category
                == .hostnameMismatch)
        #expect(await rooted.evaluate(presented: valid, identity: .dns("backend.test"), mode: .pinned).category
                == .notAllowlisted)
        // An SPKI pin of the intermediate: any leaf it issued is accepted, even after renewal.
        var intermediatePin = try EntryRegistration(gateway: "g", kind: .spkiPin)
            .entry(from: try bundle("intermediate-ca.pem"), file: "intermediate-ca.pem", actor: "t")
        let spki = AllowListPolicy(gateway: "g", entries: [intermediatePin])
        #expect(await spki.evaluate(presented: valid, identity: nil, mode: .pinned).isTrusted)
        // The entry keeps the intermediate's certificate: a leaf it signed verifies up to the pinned key even when
        // the backend does not send the intermediate. A pin made from the key alone needs it presented.
        let leafOnly = try bundle("backend-missing-intermediate.pem").certificates
        #expect(await spki.evaluate(presented: leafOnly, identity: nil, mode: .pinned).isTrusted)
        var bareIntermediatePin = intermediatePin
        bareIntermediatePin.certificatePEM = nil
        #expect(await AllowListPolicy(gateway: "g", entries: [bareIntermediatePin])
            .evaluate(presented: leafOnly, identity: nil, mode: .pinned).category == .notAllowlisted)
        // A self-signed impostor leaf in front of the pinned intermediate: no verified path leads to the pin.
        let impostor = try CustomCertificate("backend.test", ca: false, sans: [.dnsName("backend.test")]).certificate
        let forged = await spki.evaluate(presented: [impostor] + valid, identity: .dns("backend.test"), mode: .pinned)
        #expect(forged.category == .notAllowlisted, "\(forged.detail)")
        // The leaf's own key pinned: the impostor presenting that (public) leaf after its own is refused too.
        let validLeafPin = try EntryRegistration(gateway: "g", kind: .spkiPin)
            .entry(from: try bundle("backend-valid.pem"), file: "v", actor: "t")
        let forgedLeaf = await AllowListPolicy(gateway: "g", entries: [validLeafPin])
            .evaluate(presented: [impostor] + valid, identity: .dns("backend.test"), mode: .pinned)
        #expect(forgedLeaf.category == .notAllowlisted, "\(forgedLeaf.detail)")
        // A staged next key matches too.
        let leafPin = try EntryRegistration(gateway: "g", kind: .spkiPin, nextPin: valid[0].spkiPin)
            .entry(from: try bundle("backend-wrong-host.pem"), file: "w", actor: "t")
        #expect(await AllowListPolicy(gateway: "g", entries: [leafPin]).evaluate(presented: valid, identity: nil, mode: .pinned)
            .isTrusted)
        // Trusted root plus an SPKI pin of the intermediate (a swift-certificates VerifierPolicy in the evaluator):
        // chains through that intermediate pass, a valid chain through another intermediate does not.
        let rootAndPin = AllowListPolicy(gateway: "g", entries: [try entry("root-ca.pem"), intermediatePin])
        #expect(await rootAndPin.evaluate(presented: valid, identity: .dns("backend.test"), mode: .trustedRoot).isTrusted)
        let otherIntermediate = try TestIssuance.intermediate("Other Intermediate", issuer: pki.root)
        let otherLeaf = try TestIssuance.leaf("backend.test", issuer: otherIntermediate)
        let viaOther = await rootAndPin.evaluate(
            presented: [otherLeaf.certificate, otherIntermediate.certificate], identity: .dns("backend.test"),
            mode: .trustedRoot)
        #expect(viaOther.category == .notAllowlisted, "\(viaOther.detail)")
        #expect(viaOther.detail.contains("SPKI pin of gateway g"))
        // An entry past its own expiry no longer counts.
        intermediatePin.expiresAt = Date().addingTimeInterval(-60)
        #expect(await AllowListPolicy(gateway: "g", entries: [intermediatePin]).evaluate(
            presented: valid, identity: nil, mode: .pinned).category == .notAllowlisted)
        _ = pki
    }
}
