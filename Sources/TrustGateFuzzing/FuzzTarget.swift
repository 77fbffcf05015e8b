import Dispatch
import Foundation
@_spi(Fuzzing) import TrustGateAllowList
@_spi(Fuzzing) import TrustGateGateway
import TrustGatePKI

/// Every parser that outside input reaches, as one fuzz target each. `trustgate-fuzz` runs them under libFuzzer
/// (`scripts/fuzz.sh TARGET SECONDS`) or replays files through them; the test suite replays the committed
/// regression inputs under `Tests/FuzzRegressions/TARGET/`. A target returns normally for every input: a
/// refusal is an ordinary outcome, and only a trap, a sanitizer report or a hang is a finding.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// One DER certificate: parsed, inspected, linted, pinned and judged against itself as the root.
    case certificate
    /// A certificate or key file in any encoding the CLI reads (PEM, DER, Base64 `.cer`): the bundle decoder.
    case pem
    /// A PKCS#12 file: the container report, then decryption with a fixed password.
    case pkcs12
    /// A private key: PKCS#8, SEC1 and PKCS#1 DER.
    case privateKey = "private-key"
    /// A client's bytes to the gateway: request heads, framing and bodies.
    case requestHead = "request-head"
    /// A backend's bytes to the gateway: response heads, framing and bodies.
    case responseHead = "response-head"
    /// A chunked body.
    case chunkedBody = "chunked-body"
    /// A gateway configuration file.
    case gatewayYAML = "gateway-yaml"
    /// A backend's TLS Certificate message (TLS 1.2 and 1.3 framing), then the judged chain built from it.
    case tlsCertificateMessage = "tls-certificate-message"
    /// A CA's nameConstraints extension value, applied to names of every form.
    case nameConstraints = "name-constraints"
    /// A `postgres://` store URL, then a `.pgpass` file looked up for it.
    case storeURL = "store-url"

    /// Runs the target on one input.
    public func run(_ bytes: [UInt8]) {
        switch self {
        case .certificate:
            // The judged chain is built from the same bytes: a certificate that does not parse must be refused
            // there, never skipped, and one that parses must be the chain's only certificate.
            let presented = PresentedChain.parse([bytes], handshakeLeaf: bytes)
            let certificate: ParsedCertificate
            do {
                certificate = try ParsedCertificate(der: bytes)
            } catch {
                guard case .refused = presented else { preconditionFailure("an unparseable certificate was judged") }
                return
            }
            if case .chain(let chain) = presented, chain.map(\.der) != [bytes] {
                preconditionFailure("the judged chain is not the certificate presented")
            }
            inspect([certificate])
            judge(certificate)
        case .nameConstraints:
            NameConstraintsFuzz.fuzz(bytes)
        case .storeURL:
            StoreURLFuzz.fuzz(bytes)
        case .pem:
            // Strictly, as every trust path reads, and tolerantly, as `cert inspect` does.
            for tolerant in [false, true] {
                guard let bundle = try? CertificateBundle.decode(bytes, tolerant: tolerant) else { continue }
                inspect(bundle.certificates)
                _ = InspectionReport(file: "fuzz", bundle: bundle)
            }
            for case .block(let block) in PEMBlock.scan(String(decoding: bytes, as: UTF8.self)) {
                _ = PrivateKeyMaterial.describe(pemBlock: block)
            }
        case .pkcs12:
            _ = try? PFXContainerReport(der: bytes)
            if let bundle = try? PFXReader.read(bytes, password: Password("fuzz"), tolerant: true) {
                inspect(bundle.certificates)
                _ = InspectionReport(file: "fuzz", bundle: bundle)
            }
        case .privateKey:
            for key in [try? PrivateKeyMaterial(pkcs8DER: bytes), try? PrivateKeyMaterial(sec1DER: bytes),
                        try? PrivateKeyMaterial(rsaDER: bytes)].compactMap({ $0 }) {
                _ = (key.description, key.subjectPublicKeyInfo)
            }
        case .requestHead:
            GatewayFuzzEntryPoints.requestStream(bytes)
        case .responseHead:
            GatewayFuzzEntryPoints.responseStream(bytes)
        case .chunkedBody:
            GatewayFuzzEntryPoints.chunkedBody(bytes)
        case .gatewayYAML:
            GatewayFuzzEntryPoints.configuration(bytes)
        case .tlsCertificateMessage:
            GatewayFuzzEntryPoints.certificateMessage(bytes)
        }
    }

    private func inspect(_ certificates: [ParsedCertificate]) {
        for (certificate, role) in zip(certificates, ChainAnalysis.roles(of: certificates)) {
            _ = CertificateSummary(certificate, role: role)
            _ = (certificate.spkiPin, certificate.displayName, certificate.isCA, certificate.isSelfSigned)
        }
        _ = CertificateLinter.lint(certificates, hostname: .dns("backend.test"))
        _ = ChainAnalysis.findRoot(certificates)
    }

    /// The trust evaluator on the certificate as its own root, for a DNS name and an IP address.
    private func judge(_ certificate: ParsedCertificate) {
        // Synchronously, on this thread. With a Task and a semaphore LeakSanitizer once reported the certificate's
        // storage as leaked, which replaying the input did not reproduce: the Task may still hold its captures
        // when the fuzzer counts allocations.
        let evaluator = TrustEvaluator()
        for identity in [ServerIdentity.dns("backend.test"), .ip([127, 0, 0, 1])] {
            _ = evaluator.evaluateNow(
                TrustEvaluationRequest(presented: [certificate], roots: TrustAnchors([certificate]), identity: identity)
            )
        }
    }
}
