import SwiftASN1
import TrustGatePKI
import X509

/// Certificates no reader of ours may crash on or accept, each a variant of a valid self-signed leaf for
/// `backend.test`, re-signed so that only the named defect is wrong with it. OpenSSL reads every one of them
/// (which is what makes them dangerous: a TLS server can present them).
public struct HostileCertificates: Sendable {
    /// One hostile certificate: its DER and the private key of the public key it carries.
    public struct Variant: Sendable {
        public let name: String
        public let der: [UInt8]
        public let key: PrivateKeyMaterial

        /// The certificate as PEM.
        public var pem: String { PEMBlock(label: "CERTIFICATE", der: der).encoded() }
    }

    public let variants: [Variant]

    public init(host: String = "backend.test") throws {
        let base = try CustomCertificate(host, ca: false, sans: [.dnsName(host)])
        let fields = try CertificateSurgery.tbsFields(base.certificate.der)
        func variant(_ name: String, _ index: Int, _ replacement: [UInt8]) throws -> Variant {
            let der = try CertificateSurgery.assemble(
                CertificateSurgery.replacing(fields, at: index, with: replacement), signer: base.key
            )
            return Variant(name: name, der: der, key: base.key)
        }
        let extensionsIndex = fields.count - 1
        // basicConstraints CA:TRUE with a pathLenConstraint of 2^63, one more than the largest Int64.
        let pathLength = CertificateSurgery.extension(
            oid: CertificateSurgery.basicConstraintsOID, critical: true,
            value: CertificateSurgery.element(0x30, [0x01, 0x01, 0xFF] + CertificateSurgery.element(0x02, [0x00, 0x80] + [UInt8](repeating: 0, count: 7)))
        )
        let san = try Self.encodedExtension(
            Certificate.Extension(SubjectAlternativeNames([.dnsName(host)]), critical: false)
        )
        // The same leaf with its critical flags as BER booleans (0x01 for TRUE): not DER, read by OpenSSL.
        let berBoolean = CertificateSurgery.patched(fields[extensionsIndex], [0x01, 0x01, 0xFF], [0x01, 0x01, 0x01])
            ?? fields[extensionsIndex]
        variants = [
            try variant("version-int64-max", 0, CertificateSurgery.version([0x7F] + [UInt8](repeating: 0xFF, count: 7))),
            try variant("version-2^64", 0, CertificateSurgery.version([0x01] + [UInt8](repeating: 0, count: 8))),
            try variant("version-negative", 0, CertificateSurgery.version([0xFF])),
            try variant("serial-10kb", 1, CertificateSurgery.element(0x02, [0x01] + [UInt8](repeating: 0xAB, count: 10_239))),
            try variant("pathlen-2^63", extensionsIndex, CertificateSurgery.extensions([pathLength, san])),
            try variant("ber-boolean", extensionsIndex, berBoolean),
        ]
    }

    /// The named variant.
    public subscript(name: String) -> Variant? { variants.first { $0.name == name } }

    private static func encodedExtension(_ value: Certificate.Extension) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(value)
        return serializer.serializedBytes
    }
}
