import Foundation
import X509

/// A ready-made PKI for testing a gateway's end-to-end TLS: a root, an intermediate, a listener certificate,
/// and backend certificates for `backend.test` that are valid or wrong in exactly one way each.
public struct TestPKI: Sendable {
    /// The host name every backend certificate is meant for.
    public static let backendHost = "backend.test"
    /// The host name of the gateway's listener certificate.
    public static let listenerHost = "gateway.test"

    public let root: IssuedCertificate
    public let intermediate: IssuedCertificate
    public let untrustedRoot: IssuedCertificate
    /// Backend certificates by scenario name (`valid`, `expired`, …).
    public let backends: [String: IssuedCertificate]
    public let listener: IssuedCertificate
    /// Every file, in the order the README lists them.
    public let files: [TestPKIFile]

    /// Makes a fresh test PKI. All keys are EC P-256 except the deliberately weak RSA-1024 one.
    public init(now: Date = Date()) throws(PKIError) {
        let day: TimeInterval = 86400
        func period(_ from: TimeInterval, _ to: TimeInterval) throws(PKIError) -> ValidityPeriod {
            try ValidityPeriod(notBefore: now.addingTimeInterval(from * day), notAfter: now.addingTimeInterval(to * day))
        }
        func request(_ cn: String, _ profile: CertificateProfile, _ validity: ValidityPeriod, key: KeyAlgorithm = .ecP256)
            -> CertificateRequest
        {
            CertificateRequest(commonName: cn, keyAlgorithm: key, profile: profile, validity: validity)
        }

        root = try CertificateFactory.issue(request("TrustGate Test Root CA", .rootCA, period(-730, 3650)))
        let rootCA = try root.asAuthority()
        intermediate = try CertificateFactory.issue(
            request("TrustGate Test Intermediate CA", .intermediateCA, period(-730, 1825)), issuer: rootCA
        )
        let issuingCA = try intermediate.asAuthority()
        untrustedRoot = try CertificateFactory.issue(request("Untrusted Test Root CA", .rootCA, period(-730, 3650)))

        let host = Self.backendHost
        let valid = try period(-1, 397)
        var backends: [String: IssuedCertificate] = [:]
        backends["valid"] = try CertificateFactory.issue(request(host, .leaf, valid), issuer: issuingCA)
        backends["expired"] = try CertificateFactory.issue(request(host, .leaf, period(-400, -30)), issuer: issuingCA)
        backends["not-yet-valid"] = try CertificateFactory.issue(
            request(host, .leaf, period(30, 400)), issuer: issuingCA
        )
        backends["wrong-host"] = try CertificateFactory.issue(
            request("wrong-host.test", .leaf, valid), issuer: issuingCA
        )
        backends["untrusted"] = try CertificateFactory.issue(
            request(host, .leaf, valid), issuer: untrustedRoot.asAuthority()
        )
        backends["self-signed"] = try CertificateFactory.issue(request(host, .selfSigned, valid))
        backends["missing-intermediate"] = try CertificateFactory.issue(request(host, .leaf, valid), issuer: issuingCA)
        backends["weak-key"] = try CertificateFactory.issue(
            request(host, .leaf, valid, key: .rsa1024Weak), issuer: issuingCA
        )
        self.backends = backends
        listener = try CertificateFactory.issue(request(Self.listenerHost, .leaf, valid), issuer: issuingCA)
        files = try Self.files(
            root: root, intermediate: intermediate, untrustedRoot: untrustedRoot, backends: backends,
            listener: listener
        )
    }

    /// The backend scenarios in README order, with the category a gateway trusting the test root gives each.
    public static let scenarios: [(name: String, category: ReasonCategory, purpose: String)] = [
        ("valid", .ok, "valid backend certificate, sent with its intermediate"),
        ("expired", .expired, "expired 30 days ago"),
        ("not-yet-valid", .notYetValid, "becomes valid in 30 days"),
        ("wrong-host", .hostnameMismatch, "valid, but for wrong-host.test instead of backend.test"),
        ("untrusted", .untrustedRoot, "signed by untrusted-root-ca.pem and sent with it; the gateway does not trust it"),
        ("self-signed", .untrustedRoot, "self-signed backend certificate, not in any trust store"),
        ("missing-intermediate", .incompleteChain, "signed by the intermediate, but sent without it"),
        ("weak-key", .weakKey, "RSA-1024 key, below the 2048-bit minimum"),
    ]

    private static func files(
        root: IssuedCertificate, intermediate: IssuedCertificate, untrustedRoot: IssuedCertificate,
        backends: [String: IssuedCertificate], listener: IssuedCertificate
    ) throws(PKIError) -> [TestPKIFile] {
        func text(_ string: String) -> [UInt8] { Array(string.utf8) }
        var files: [TestPKIFile] = [
            TestPKIFile(
                name: "root-ca.pem", contents: text(root.certificate.pem),
                purpose: "the test root CA: register it as the gateway's trusted root (Azure v2 style)"
            ),
            TestPKIFile(
                name: "root-ca.key", contents: text(try root.key.pkcs8PEM()), isSecret: true,
                purpose: "the root CA's key, to sign more intermediates with `cert create --profile intermediate-ca`"
            ),
            TestPKIFile(
                name: "intermediate-ca.pem", contents: text(intermediate.certificate.pem),
                purpose: "the intermediate CA that signs the backend and listener certificates"
            ),
            TestPKIFile(
                name: "intermediate-ca.key", contents: text(try intermediate.key.pkcs8PEM()), isSecret: true,
                purpose: "the intermediate's key, to sign more leafs with `cert create --profile leaf`"
            ),
            TestPKIFile(
                name: "untrusted-root-ca.pem", contents: text(untrustedRoot.certificate.pem),
                purpose: "a second root that the gateway does not trust"
            ),
        ]
        for scenario in scenarios {
            guard let backend = backends[scenario.name] else { continue }
            let base = "backend-\(scenario.name)"
            let chainPEM: String
            switch scenario.name {
            case "missing-intermediate": chainPEM = backend.certificate.pem
            case "untrusted": chainPEM = backend.chainPEM + untrustedRoot.certificate.pem
            default: chainPEM = backend.chainPEM
            }
            files.append(
                TestPKIFile(
                    name: "\(base).pem", contents: text(chainPEM),
                    purpose: scenario.purpose + " (certificate chain a backend serves)",
                    expectedCategory: scenario.category
                )
            )
            files.append(
                TestPKIFile(
                    name: "\(base).key", contents: text(try backend.key.pkcs8PEM()), isSecret: true,
                    purpose: "its private key"
                )
            )
            if scenario.name == "valid" {
                files.append(
                    TestPKIFile(
                        name: "backend-valid.fullchain.pem",
                        contents: text(backend.chainPEM + root.certificate.pem),
                        purpose: "the valid chain including the root, for tools that want the whole path",
                        expectedCategory: .ok
                    )
                )
                files.append(
                    TestPKIFile(
                        name: "backend-valid.cer", contents: backend.certificate.der,
                        purpose: "the valid backend's public certificate (DER .cer): register it as pinned (Azure v1)"
                    )
                )
            }
        }
        files.append(
            TestPKIFile(
                name: "gateway-listener.pem", contents: text(listener.chainPEM),
                purpose: "the gateway's own listener certificate for \(listenerHost), with its intermediate"
            )
        )
        files.append(
            TestPKIFile(
                name: "gateway-listener.key", contents: text(try listener.key.pkcs8PEM()), isSecret: true,
                purpose: "the listener certificate's key"
            )
        )
        var generator = SystemRandomNumberGenerator()
        let passwordText = (0..<18).map { _ in UInt8.random(in: .min ... .max, using: &generator) }.base64String
        let pfx = try PFXWriter.write(
            certificates: [listener.certificate] + listener.chain, key: listener.key,
            password: Password(passwordText), profile: .modern, friendlyName: listenerHost
        )
        files.append(
            TestPKIFile(
                name: "gateway-listener.pfx", contents: pfx, isSecret: true,
                purpose: "the listener certificate, chain and key as PKCS#12 (modern profile), for a listener's `pfx:`"
            )
        )
        files.append(
            TestPKIFile(
                name: "gateway-listener.pass", contents: text(passwordText + "\n"), isSecret: true,
                purpose: "the PFX's random password, for `password-file:` (the newline is not part of it)"
            )
        )
        files.append(TestPKIFile(name: "README.md", contents: text(readme(files)), purpose: "this table"))
        return files
    }

    static func readme(_ files: [TestPKIFile]) -> String {
        var lines = [
            "# TrustGate test PKI",
            "",
            "Made by `trustgate cert testpki`. Every backend certificate is for `\(backendHost)`; a gateway that",
            "trusts `root-ca.pem` and expects the host name `\(backendHost)` must give each the verdict below.",
            "Private keys (`*.key`) are unencrypted PKCS#8 PEM, mode 0600: test use only.",
            "",
            "| file | what it is for | verdict | reason category |",
            "|---|---|---|---|",
        ]
        for file in files {
            let verdict = file.expectedCategory.map { $0 == .ok ? "accept" : "reject" } ?? ""
            let category = file.expectedCategory.map { "`\($0.rawValue)`" } ?? ""
            lines.append("| `\(file.name)` | \(file.purpose) | \(verdict) | \(category) |")
        }
        lines += [
            "| `README.md` | this table | | |",
            "",
            "Try it:",
            "",
            "```",
            "openssl verify -CAfile root-ca.pem -untrusted intermediate-ca.pem backend-valid.pem",
            "trustgate cert inspect backend-valid.pem",
            "trustgate cert export backend-valid.pem --cer backend.cer --pin",
            "```",
            "",
        ]
        return lines.joined(separator: "\n")
    }
}
