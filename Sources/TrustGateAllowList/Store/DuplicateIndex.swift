/// The names and fingerprints a gateway's allow-list already has, for refusing a duplicate the way every store
/// does: the same certificate (or, for an SPKI pin, the same key) registered twice, or a name in use.
struct DuplicateIndex {
    private var names = Set<String>()
    private var fingerprints: [String: String] = [:]

    /// From the existing rows: name, kind, certificate SHA-256, SPKI SHA-256.
    init(_ rows: [(String, String, String?, String)]) {
        for (name, kind, certificate, spki) in rows {
            names.insert(name)
            let key = Self.key(kind: kind, certificate: certificate, spki: spki)
            if fingerprints[key] == nil { fingerprints[key] = name }
        }
    }

    private static func key(kind: String, certificate: String?, spki: String) -> String {
        kind == EntryKind.spkiPin.rawValue ? "\(kind) \(spki)" : "\(kind) \(certificate ?? spki)"
    }

    /// Refuses `entry` as a duplicate, or records it.
    mutating func admit(_ entry: AllowListEntry) throws(AllowListError) {
        try Self.refuse(entry, existingName: fingerprints[Self.key(kind: entry.kind.rawValue,
                                                                    certificate: entry.certificateSHA256,
                                                                    spki: entry.spkiSHA256)],
                        nameTaken: names.contains(entry.name))
        names.insert(entry.name)
        fingerprints[Self.key(kind: entry.kind.rawValue, certificate: entry.certificateSHA256, spki: entry.spkiSHA256)] =
            entry.name
    }

    /// The refusal of a duplicate, in the words of every store.
    static func refuse(_ entry: AllowListEntry, existingName: String?, nameTaken: Bool) throws(AllowListError) {
        if let existingName {
            throw AllowListError.refused(
                "already registered as \(existingName) on gateway \(entry.gateway)",
                hint: "see `trustgate allowlist show --gateway \(entry.gateway) '\(existingName)'`"
            )
        }
        if nameTaken {
            throw AllowListError.refused(
                "gateway \(entry.gateway) already has an entry named \(entry.name)", hint: "pass --name to choose another"
            )
        }
    }
}

extension AllowListEntry {
    /// What the history says of this entry: kind and fingerprints.
    var historyDetail: String {
        "\(kind.rawValue) sha256 \(certificateSHA256 ?? "-") spki \(spkiSHA256)"
    }
}
