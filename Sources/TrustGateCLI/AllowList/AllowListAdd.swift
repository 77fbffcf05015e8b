import ArgumentParser
import Foundation
import TrustGateAllowList
import TrustGatePKI

extension AllowListCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Register a certificate with a gateway.",
            discussion: """
                FILE is PEM, DER, a Base64 or DER .cer, or a PFX. The kind is detected unless --as says: a \
                self-signed CA is a trusted root, anything else is pinned; --as spki-pin pins the key of the \
                file's leaf. Refused (exit 1), with the reason and what to do: a file holding a private key (only \
                the public certificate is needed), a leaf or an intermediate as a trusted root, an expired \
                certificate (unless --allow-expired), and a certificate the gateway already has.

                What an entry matches (the gateway, backend-health and allowlist check agree): a pinned \
                certificate matches only the backend's leaf, the certificate whose key signed the handshake, byte \
                for byte. An SPKI pin of a leaf's key (or its staged --next-pin) matches only that leaf. An SPKI \
                pin of a CA's key (an intermediate or a root) matches only when the path from the leaf up to that \
                CA's certificate, presented by the backend or stored with the entry, is verified: every signature, \
                CA constraints, validity and key usage, and the expected host name, as HPKP required. A trusted \
                root matches a chain that validates to it for the expected host name. --expires is enforced at \
                every handshake: an expired entry stops matching at once, with no store change.

                EXAMPLES:
                  trustgate allowlist add --gateway g1 backend.cer
                  trustgate allowlist add --gateway g1 root-ca.pem --as trusted-root --name contoso-root
                  trustgate allowlist add --gateway g1 backend.pem --as spki-pin --next-pin sha256/NEXTKEY=
                """
        )

        @OptionGroup var gateway: GatewayOption

        @Argument(help: "The certificate to register.")
        var file: String

        @OptionGroup var naming: EntryNaming

        @Flag(help: "Register an expired certificate anyway.")
        var allowExpired = false

        @Option(help: "When the entry stops counting: RFC 3339 time or duration from now (e.g. 90d).")
        var expires: String?

        @Option(help: "A staged next key (sha256/BASE64 or hex), accepted alongside the current one.")
        var nextPin: String?

        @OptionGroup var passwords: InputPasswordOptions
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: JSONOptions

        func run() throws {
            var expiresAt: Date?
            if let expires {
                do {
                    expiresAt = try ValidityPeriod.parseTime(expires)
                } catch {
                    throw CLIError(error, what: "invalid --expires")
                }
            }
            let bundle = try InputFile.bundle(file, passwords: passwords)
            let registration = EntryRegistration(
                gateway: gateway.gateway, name: naming.name, kind: naming.kind, allowExpired: allowExpired, expiresAt: expiresAt,
                nextPin: nextPin
            )
            let store = try storeOptions.open()
            let entry: AllowListEntry
            let version: Int64
            do {
                entry = try registration.entry(from: bundle, file: file, actor: Actor.current)
                version = try store.add(entry)
            } catch {
                throw CLIError(error, what: "cannot register")
            }
            if output.json {
                try JSONOutput.print(EntryReport(entry, version: version))
                return
            }
            print("registered \(entry.name) (\(entry.kind.rawValue)) on gateway \(entry.gateway), version \(version)")
            print("  subject \(entry.subject ?? "-"), sha256 \(entry.certificateSHA256 ?? "-")")
        }
    }
}

/// An entry as the allow-list commands print it in JSON.
struct EntryReport: Encodable {
    var gateway: String
    var name: String
    var kind: String
    var subject: String?
    var certificateSha256: String?
    var spkiSha256: String
    var spkiPin: String
    var nextSpkiSha256: String?
    var certificateNotAfter: String?
    var expiresAt: String?
    var addedBy: String
    var addedAt: String
    var version: Int64?

    init(_ entry: AllowListEntry, version: Int64? = nil) {
        gateway = entry.gateway
        name = entry.name
        kind = entry.kind.rawValue
        subject = entry.subject
        certificateSha256 = entry.certificateSHA256
        spkiSha256 = entry.spkiSHA256
        spkiPin = entry.spkiPin
        nextSpkiSha256 = entry.nextSPKISHA256
        certificateNotAfter = entry.certificateNotAfter.map(RFC3339.format)
        expiresAt = entry.expiresAt.map(RFC3339.format)
        addedBy = entry.addedBy
        addedAt = RFC3339.format(entry.addedAt)
        self.version = version
    }
}
