import Foundation
import Testing
import TrustGatePKI
import TrustGateTesting

@Suite("Decoding certificate and key files")
struct CertificateBundleTests {
    let issued: IssuedCertificate
    let chain: [ParsedCertificate]

    init() throws {
        let root = try TestIssuance.root()
        let intermediate = try TestIssuance.intermediate(issuer: root)
        issued = try TestIssuance.leaf(issuer: intermediate)
        chain = [issued.certificate, intermediate.certificate]
    }

    @Test("PEM chain with key: certificates in order, key matched to the leaf")
    func pemChainWithKey() throws {
        let text = issued.chainPEM + (try issued.key.pkcs8PEM())
        let bundle = try CertificateBundle.decode(Array(text.utf8))
        #expect(bundle.format == .pem)
        #expect(bundle.certificates.map(\.sha256) == chain.map(\.sha256))
        #expect(bundle.privateKeys.count == 1)
        #expect(bundle.privateKeys[0].matches(bundle.certificates[0]))
        #expect(!bundle.privateKeys[0].matches(bundle.certificates[1]))
    }

    @Test("CRLF line ends and a byte-order mark are read")
    func crlfAndBOM() throws {
        let crlf = issued.certificate.pem.replacingOccurrences(of: "\n", with: "\r\n")
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(crlf.utf8)
        let bundle = try CertificateBundle.decode(bytes)
        #expect(bundle.certificates.first?.der == issued.certificate.der)
    }

    @Test("Base64 .cer without armour lines is read as the same certificate")
    func base64WithoutArmour() throws {
        let body = issued.certificate.der.base64String
        var wrapped = ""
        var rest = Substring(body)
        while !rest.isEmpty {
            wrapped += rest.prefix(76) + "\r\n"
            rest = rest.dropFirst(76)
        }
        let bundle = try CertificateBundle.decode(Array(wrapped.utf8))
        #expect(bundle.format == .base64)
        #expect(bundle.certificates.first?.der == issued.certificate.der)
    }

    @Test("Binary DER is detected from content")
    func binaryDER() throws {
        let bundle = try CertificateBundle.decode(issued.certificate.der)
        #expect(bundle.format == .der)
        #expect(bundle.certificates.first?.sha256 == issued.certificate.sha256)
    }

    @Test("Text around PEM blocks (openssl x509 -text) is skipped")
    func textAroundBlocks() throws {
        let text = "Certificate:\n    Data: whatever\n" + issued.certificate.pem + "trailing words\n"
        let bundle = try CertificateBundle.decode(Array(text.utf8))
        #expect(bundle.certificates.count == 1)
    }

    @Test(
        "Malformed inputs are refused with malformedInput",
        arguments: [
            ("empty", [UInt8]()),
            ("whitespace", Array("  \n\r\n".utf8)),
            ("random bytes", (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }),
            ("random text", Array("hello, this is not a certificate".utf8)),
            ("DER garbage", [0x30, 0x82, 0x01, 0x00, 0x01, 0x02]),
        ]
    )
    func malformed(name: String, bytes: [UInt8]) {
        #expect(throws: PKIError.self, "\(name)") { try CertificateBundle.decode(bytes) }
    }

    @Test("A PEM cut anywhere inside its block is an error, never a shorter certificate")
    func truncatedPEM() throws {
        let pem = Array(issued.chainPEM.utf8)
        let firstEnd = issued.certificate.pem.utf8.count
        for cut in stride(from: 30, to: pem.count - 1, by: 37) where cut != firstEnd {
            let result = Result { try CertificateBundle.decode(Array(pem.prefix(cut))) }
            if case .success(let bundle) = result {
                // Cutting exactly after a whole block leaves whole certificates only.
                #expect(bundle.certificates.allSatisfy { chain.contains($0) }, "cut at \(cut)")
                #expect(cut >= firstEnd, "cut at \(cut) gave a certificate from half a block")
            }
        }
    }

    @Test("Truncated DER is refused")
    func truncatedDER() {
        let der = issued.certificate.der
        for cut in [1, 10, der.count / 2, der.count - 1] {
            #expect(throws: PKIError.self) { try CertificateBundle.decode(Array(der.prefix(cut))) }
        }
    }

    @Test("A CSR and an encrypted key are refused with a reason")
    func unsupportedBlocks() throws {
        let csr = PEMBlock(label: "CERTIFICATE REQUEST", der: [0x30, 0x00]).encoded()
        let error = #expect(throws: PKIError.self) { try CertificateBundle.decode(Array(csr.utf8)) }
        #expect(error?.reason.contains("certificate signing request") == true)
        let encrypted = PEMBlock(label: "ENCRYPTED PRIVATE KEY", der: [0x30, 0x00]).encoded()
        let keyError = #expect(throws: PKIError.self) { try CertificateBundle.decode(Array(encrypted.utf8)) }
        #expect(keyError?.reason.contains("encrypted") == true)
    }

    @Test("Keys in PKCS#8, SEC1 and PKCS#1 are read and match their certificates")
    func keyFormats() throws {
        for algorithm in KeyAlgorithm.allCases {
            let key = try algorithm.generate()
            let der = try key.pkcs8DER()
            let reread = try PrivateKeyMaterial(pkcs8DER: der)
            #expect(reread.subjectPublicKeyInfo == key.subjectPublicKeyInfo, "\(algorithm)")
            let bundle = try CertificateBundle.decode(der)
            #expect(bundle.privateKeys.count == 1, "\(algorithm) as DER")
        }
    }
}
