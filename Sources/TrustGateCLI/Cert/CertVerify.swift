import ArgumentParser
import Foundation
import TrustGatePKI

extension CertificatePurpose: ExpressibleByArgument {}
extension VerificationProfile: ExpressibleByArgument {}

extension Cert {
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Validate a certificate chain exactly as the gateway does.",
            discussion: """
                PEER is the chain a backend presents, leaf first (PEM, DER or PFX). The path is built to a root of \
                --roots (a PEM file of any number of certificates, repeatable; a root in it that cannot be used, \
                not strict DER or with an unusable key, is skipped with a warning and never trusted, as the \
                system store's are), or of the system's well-known CAs \
                (--well-known, /etc/ssl/certs/ca-certificates.crt, the default when no --roots is given), using \
                the certificates after the leaf and those of --intermediates. Checks: signatures, validity at --at \
                (default now; whole seconds, notAfter inclusive), basic constraints, path length (--max-depth \
                intermediates, default 8; self-issued intermediates do not count, as in pathLenConstraint), name \
                constraints (DNS, IP, e-mail, URI and directory names; a wildcard SAN must be within every \
                permitted subtree and meet no excluded one), key usage and extended key usage for --purpose, the \
                RFC 5280 certificate profile (key identifiers, serial numbers, subjects, extension criticality), \
                RSA keys of at least 2048 bits and no SHA-1 signatures, and the server name (--hostname or --ip; \
                wildcards only as the whole left-most label, never directly under a public suffix).

                --profile strict (the default, as for the gateway) adds the CA/Browser Forum server profile: the \
                leaf needs a SAN, an EKU with serverAuth (not critical, no anyExtendedKeyUsage, no other purpose) \
                and every CN among its SANs; no EKU on the root; RSA moduli a multiple of 8 bits; CAs need key \
                usage. --profile compatible is RFC 5280 alone, and matches the CN when a certificate has no SAN \
                (what Azure Application Gateway v2 does for backend certificates). A chain refused under strict \
                that compatible accepts says so in its hint; `trustgate cert lint` names the rule and how to \
                reissue.

                Exit status: 0 valid; 1 rejected, with a reason category: untrusted-root, incomplete-chain, \
                hostname-mismatch, expired, not-yet-valid, bad-signature, not-a-ca, path-length-exceeded, \
                name-constraint-violation, bad-key-usage, weak-key, leaf-not-first, not-well-known-ca, \
                profile-violation (an RFC 5280 or server-profile rule), malformed, too-complex (more than 16 \
                certificates or 100 KiB presented, more than 1,000 --intermediates, or over a work bound: 100 \
                signature checks or 12 certificates in path building, 250,000 name-constraint comparisons); 65 \
                unreadable input (a certificate that does not parse as strict DER: a version other than v1-v3, a \
                serial over 20 octets, a malformed extension).

                JSON OUTPUT: {"file", "valid", "reason", "detail", "hint" (when there is one), "problems": [{"category", "detail", "subject", \
                "sha256", "rule" (for profile-violation: the rule's name, as cert lint reports it)}], "chain": \
                [{"subject", "sha256"}]}.

                EXAMPLES:
                  trustgate cert verify backend.pem --roots root-ca.pem --hostname backend.test
                  trustgate cert verify backend.pem --well-known --hostname www.example.com --json
                  trustgate cert verify backend.pem --roots root-ca.pem --ip 10.0.0.4 --at 2027-01-01T00:00:00Z
                  trustgate cert verify legacy.pem --roots root-ca.pem --hostname legacy.test --profile compatible
                """
        )

        @Argument(help: "The presented chain, leaf first.")
        var peer: String

        @Option(help: "Trusted root certificates (PEM with any number); repeat for several files.")
        var roots: [String] = []

        @Option(help: "Extra untrusted intermediate certificates that may complete the path.")
        var intermediates: [String] = []

        @Option(help: "The expected DNS host name.")
        var hostname: String?

        @Option(help: "The expected IP address (IPv4 or IPv6).")
        var ip: String?

        @Option(help: "Validate at this time (RFC 3339) instead of now.")
        var at: String?

        @Option(help: "The most intermediate certificates a path may have.")
        var maxDepth: Int = 8

        @Option(help: "What the certificate must be valid for.")
        var purpose: CertificatePurpose = .server

        @Flag(help: "Trust the system's well-known CAs (the gateway's well-known-ca mode).")
        var wellKnown = false

        @Option(help: "strict (RFC 5280 and the CA/Browser Forum server profile) or compatible (RFC 5280, CN when no SAN).")
        var profile: VerificationProfile = .strict

        @OptionGroup var passwords: InputPasswordOptions
        @OptionGroup var output: JSONOptions

        func validate() throws {
            if hostname != nil, ip != nil { throw ValidationError("use either --hostname or --ip, not both") }
            if let ip, IPAddressBytes.parse(ip) == nil { throw ValidationError("--ip \(ip) is not an IP address") }
            if wellKnown, !roots.isEmpty { throw ValidationError("use either --roots or --well-known, not both") }
            if maxDepth < 0 { throw ValidationError("--max-depth must be 0 or more") }
        }

        func run() async throws {
            let presented = try InputFile.certificates(peer, passwords: passwords).certificates
            let anchors = try loadAnchors()
            var extra: [ParsedCertificate] = []
            for file in intermediates { extra += try InputFile.certificates(file).certificates }
            var time = Date()
            if let at {
                guard let parsed = RFC3339.parse(at) else { throw CLIError.usage("--at \(at) is not an RFC 3339 time") }
                time = parsed
            }
            let identity: ServerIdentity? = ip.flatMap { IPAddressBytes.parse($0) }.map { .ip($0) }
                ?? hostname.map { .dns($0) }
            let request = TrustEvaluationRequest(
                presented: presented, roots: anchors, intermediates: extra, identity: identity, time: time,
                maximumIntermediates: maxDepth, purpose: purpose, profile: profile
            )
            let verdict = await TrustEvaluator().evaluate(request)
            try VerdictOutput.print(verdict, file: peer, json: output.json)
            if !verdict.isTrusted { throw ExitCode(CLIError.ExitStatus.rejected.rawValue) }
        }

        private func loadAnchors() throws(CLIError) -> TrustAnchors {
            if roots.isEmpty {
                do {
                    return try TrustAnchors.system()
                } catch {
                    throw CLIError(error, what: "cannot load the system trust store")
                }
            }
            var certificates: [ParsedCertificate] = []
            for file in roots {
                let bytes = try InputFile.read(file)
                guard String(decoding: bytes.prefix(65_536), as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
                    certificates += try InputFile.certificates(file).certificates
                    continue
                }
                // A PEM bundle of roots: one that cannot be used is skipped, with a warning, and never trusted.
                do {
                    let (found, skipped) = try TrustAnchors.bundle(bytes)
                    for reason in skipped { ErrorReporter.warn("--roots \(file): skipped \(reason)") }
                    certificates += found
                } catch {
                    throw CLIError(error.about(file: file), what: "cannot read input")
                }
            }
            return TrustAnchors(certificates)
        }
    }
}

/// How verdicts are printed, by `cert verify` and later by `allowlist check`.
enum VerdictOutput {
    struct Report: Encodable {
        struct Link: Encodable {
            var subject: String
            var sha256: String
        }
        var file: String
        var valid: Bool
        var reason: String
        var detail: String
        var problems: [TrustProblem]
        var chain: [Link]
        var hint: String?
    }

    static func print(_ verdict: TrustVerdict, file: String, json: Bool) throws(CLIError) {
        let chain = verdict.chain.map { Report.Link(subject: $0.subject.description, sha256: $0.sha256.hexString) }
        if json {
            try JSONOutput.print(
                Report(file: file, valid: verdict.isTrusted, reason: verdict.category.rawValue, detail: verdict.detail,
                       problems: verdict.problems, chain: chain, hint: verdict.hint)
            )
            return
        }
        if verdict.isTrusted {
            Swift.print("\(file): ok")
        } else {
            Swift.print("\(file): rejected: \(verdict.category.rawValue)")
            for problem in verdict.problems { Swift.print("  \(problem.category.rawValue): \(problem.detail)") }
        }
        Swift.print("  chain: " + chain.map(\.subject).joined(separator: " → "))
        if let hint = verdict.hint { Swift.print("  hint: \(hint)") }
    }
}
