/// A CA that can sign: its certificate, its private key, and the chain above it (without the root).
public struct CertificateAuthority: Sendable {
    public let certificate: ParsedCertificate
    public let key: PrivateKeyMaterial
    /// Intermediates between this CA and its root, nearest first; the root itself is not included.
    public let chainAbove: [ParsedCertificate]

    /// Checks that the certificate is a CA whose key is `key`.
    public init(certificate: ParsedCertificate, key: PrivateKeyMaterial, chainAbove: [ParsedCertificate] = [])
        throws(PKIError)
    {
        guard key.matches(certificate) else {
            throw .invalidRequest(
                "the CA key does not belong to the CA certificate \(certificate.displayName)",
                hint: "pass the key that was written with that certificate (the .key file of the same prefix)"
            )
        }
        guard certificate.isCA else {
            throw .invalidRequest(
                "\(certificate.displayName) is not a CA certificate (basicConstraints CA:FALSE or missing)",
                hint: "create a CA with `trustgate cert create NAME --profile root-ca`"
            )
        }
        if let usage = try? certificate.extensions.keyUsage, !usage.keyCertSign {
            throw .invalidRequest("\(certificate.displayName) may not sign certificates (keyUsage lacks keyCertSign)")
        }
        self.certificate = certificate
        self.key = key
        self.chainAbove = chainAbove.filter { !$0.isSelfIssued }
    }

    /// Picks the CA out of a bundle read from `--ca-cert` and `--ca-key` files: the certificate whose public
    /// key is the given key; the others become the chain above it.
    public init(bundle certificates: [ParsedCertificate], key: PrivateKeyMaterial) throws(PKIError) {
        guard let index = certificates.firstIndex(where: { key.matches($0) }) else {
            guard let first = certificates.first else {
                throw .invalidRequest("no CA certificate was given")
            }
            try self.init(certificate: first, key: key)
            return
        }
        var rest = certificates
        let certificate = rest.remove(at: index)
        try self.init(certificate: certificate, key: key, chainAbove: rest)
    }
}
