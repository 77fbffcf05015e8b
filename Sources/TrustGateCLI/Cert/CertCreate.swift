import ArgumentParser
import Foundation
import TrustGatePKI
import X509

extension KeyAlgorithm: ExpressibleByArgument {
    public static var allValueStrings: [String] { offered.map(\.rawValue) }
    public init?(argument: String) {
        guard let value = KeyAlgorithm(rawValue: argument), value != .rsa1024Weak else { return nil }
        self = value
    }
}

extension CertificateProfile: ExpressibleByArgument {}

extension Cert {
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create a key and a certificate: self-signed, a CA, or a leaf signed by a CA.",
            discussion: """
                Writes PREFIX.pem (the certificate; for a leaf, followed by its issuing chain without the root) \
                and PREFIX.key (unencrypted PKCS#8, mode 0600); --pfx also writes all of it as PKCS#12. PREFIX defaults to the common name, with a \
                wildcard written as _wildcard (as mkcert does).

                Each --san is typed by its form: an IPv4 or IPv6 address is an IP SAN, email:NAME or anything \
                with @ an email SAN, uri:URI or anything with :// a URI SAN, anything else a DNS name (*.NAME \
                allowed). For leaf and self-signed certificates the common name is also put in the SAN.

                Extensions by profile: self-signed and leaf get basicConstraints CA:FALSE, keyUsage \
                digitalSignature (+keyEncipherment for RSA), extendedKeyUsage serverAuth and clientAuth; root-ca \
                gets CA:TRUE, intermediate-ca CA:TRUE with pathLen 0, both keyUsage keyCertSign and cRLSign. \
                Every certificate has a subject and authority key identifier and a random 128-bit serial.

                Validity: --days N from now (default 397 for leafs, 1825 for intermediates, 3650 for roots), or \
                --not-before/--not-after as RFC 3339 times or durations from now (90d, 2y, 12h, -1d). A past \
                --not-after is allowed, to make expired test certificates.

                EXAMPLES:
                  trustgate cert create backend.test
                  trustgate cert create "Example Root CA" --profile root-ca --key-type ec-p384 --out root
                  trustgate cert create backend.test --san 10.0.0.4 --san ::1 --profile leaf \\
                      --ca-cert root.pem --ca-key root.key --cer backend.cer
                  trustgate cert create old.test --not-before -400d --not-after -30d
                  trustgate cert create gateway.test --profile leaf --ca-pfx ca.pfx --password-file ca.pass \\
                      --pfx gateway.pfx --out-password-file gateway.pass
                """
        )

        @Argument(help: "The subject common name, e.g. backend.test or \"Example Root CA\".")
        var commonName: String

        @Option(name: .customLong("san"), help: "A subject alternative name; repeat for several.")
        var subjectAlternativeNames: [String] = []

        @Option(help: "Key type.")
        var keyType: KeyAlgorithm = .ecP256

        @Option(help: "What the certificate is for.")
        var profile: CertificateProfile = .selfSigned

        @Option(help: "The issuing CA's certificate (PEM/DER; its chain may follow it).")
        var caCert: String?

        @Option(help: "The issuing CA's private key.")
        var caKey: String?

        @Option(help: "The issuing CA's certificate and key as a PKCS#12 file (password: --password-*).")
        var caPfx: String?

        @Option(help: "Validity in days from now.")
        var days: Int?

        @Option(parsing: .unconditional, help: "Start of validity: RFC 3339 time or duration from now (e.g. -1d).")
        var notBefore: String?

        @Option(parsing: .unconditional, help: "End of validity: RFC 3339 time or duration from now (e.g. 90d).")
        var notAfter: String?

        @Option(help: "Output prefix: writes PREFIX.pem and PREFIX.key.")
        var out: String?

        @OptionGroup var certificateOutput: CertificateOutputOptions

        @Option(help: "Also write certificate, chain and key as a PKCS#12 file (password: --out-password-*).")
        var pfx: String?

        @Option(help: "How the --pfx file is protected: modern, compat or legacy (see cert convert).")
        var pfxProfile: PFXProfile = .modern

        @OptionGroup var passwords: InputPasswordOptions
        @OptionGroup var outPasswords: OutputPasswordOptions
        @OptionGroup var overwrite: OverwriteOptions
        @OptionGroup var output: JSONOptions

        func validate() throws {
            if days != nil, notBefore != nil || notAfter != nil {
                throw ValidationError("use either --days or --not-before/--not-after, not both")
            }
            if (caCert == nil) != (caKey == nil) {
                throw ValidationError("--ca-cert and --ca-key go together")
            }
            if caPfx != nil, caCert != nil {
                throw ValidationError("use either --ca-pfx or --ca-cert/--ca-key, not both")
            }
        }

        func run() throws {
            let now = Date()
            let validity: ValidityPeriod
            let names: [GeneralName]
            do {
                validity = try makeValidity(now: now)
                names = try subjectAlternativeNames.map { (name) throws(PKIError) in
                    try SubjectAlternativeName.parse(name)
                }
            } catch {
                throw CLIError(error, what: "invalid certificate request")
            }
            let issuer = try loadIssuer()
            let request = CertificateRequest(
                commonName: commonName, subjectAlternativeNames: names, keyAlgorithm: keyType,
                profile: profile, validity: validity
            )
            let issued: IssuedCertificate
            do {
                issued = try CertificateFactory.issue(request, issuer: issuer)
            } catch {
                throw CLIError(error, what: "cannot create certificate")
            }

            let prefix = out ?? Self.defaultPrefix(for: commonName)
            var files = OutputFiles(force: overwrite.force)
            let certificateLabel = issued.chain.isEmpty ? "certificate" : "certificate + chain"
            try files.add(prefix + ".pem", text: issued.chainPEM, label: certificateLabel)
            do {
                try files.add(prefix + ".key", text: try issued.key.pkcs8PEM(), secret: true, label: "private key")
            } catch let error as PKIError {
                throw CLIError(error, what: "cannot encode key")
            }
            try certificateOutput.add(issued.certificate, to: &files)
            if let pfx {
                try files.addPFX(
                    pfx, certificates: [issued.certificate] + issued.chain, key: issued.key,
                    password: try outPasswords.resolve(), profile: pfxProfile,
                    friendlyName: issued.certificate.displayName
                )
            }
            let written = try files.commit()
            try WrittenFiles.report(written, certificate: issued.certificate, json: output.json)
        }

        private func makeValidity(now: Date) throws(PKIError) -> ValidityPeriod {
            if notBefore == nil, notAfter == nil {
                return try .days(days ?? profile.defaultDays, from: now)
            }
            let start = try notBefore.map { (text) throws(PKIError) in try ValidityPeriod.parseTime(text, now: now) }
            let end = try notAfter.map { (text) throws(PKIError) in try ValidityPeriod.parseTime(text, now: now) }
            let defaultLength = TimeInterval(profile.defaultDays) * 86400
            let notBefore = start ?? min(now.addingTimeInterval(-300), (end ?? now).addingTimeInterval(-defaultLength))
            return try ValidityPeriod(notBefore: notBefore, notAfter: end ?? notBefore.addingTimeInterval(defaultLength))
        }

        private func loadIssuer() throws(CLIError) -> CertificateAuthority? {
            if let caPfx {
                let bundle = try InputFile.certificates(caPfx, passwords: passwords)
                guard let key = bundle.privateKeys.first else {
                    throw CLIError(what: "cannot read CA", file: caPfx, why: "the PFX holds no private key",
                                   status: .dataError)
                }
                do {
                    return try CertificateAuthority(bundle: bundle.certificates, key: key)
                } catch {
                    throw CLIError(error.about(file: caPfx), what: "cannot sign with this CA")
                }
            }
            guard let caCert, let caKey else { return nil }
            let certificates = try InputFile.certificates(caCert).certificates
            let keyBundle = try InputFile.bundle(caKey)
            guard let key = keyBundle.privateKeys.first else {
                throw CLIError(
                    what: "cannot read CA key", file: caKey, why: "holds no private key", status: .dataError
                )
            }
            do {
                return try CertificateAuthority(bundle: certificates, key: key)
            } catch {
                throw CLIError(error.about(file: caCert), what: "cannot sign with this CA")
            }
        }

        /// mkcert's naming: the CN, `*` as `_wildcard`, anything unsafe in a file name as `_`.
        static func defaultPrefix(for commonName: String) -> String {
            let safe = commonName.replacingOccurrences(of: "*", with: "_wildcard").map { character -> Character in
                character.isLetter || character.isNumber || "._-".contains(character) ? character : "_"
            }
            let name = String(safe).trimmingCharacters(in: CharacterSet(charactersIn: "."))
            return name.isEmpty ? "certificate" : name
        }
    }
}
