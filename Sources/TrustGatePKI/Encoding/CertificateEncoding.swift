/// The public-certificate file forms that gateways and Windows take.
public enum CertificateEncoding {
    /// A Base64 `.cer` as Windows' certificate export and Azure's portal write it: PEM armour, CRLF line ends.
    public static func base64CER(_ certificate: ParsedCertificate) -> String {
        PEMBlock(label: "CERTIFICATE", der: certificate.der).encoded(lineEnding: "\r\n")
    }

    /// A public key as `openssl pkey -pubout` writes it: `-----BEGIN PUBLIC KEY-----` around the SPKI DER.
    public static func publicKeyPEM(_ certificate: ParsedCertificate) -> String {
        PEMBlock(label: "PUBLIC KEY", der: certificate.subjectPublicKeyInfo).encoded()
    }
}
