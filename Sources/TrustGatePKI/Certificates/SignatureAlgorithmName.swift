import SwiftASN1

/// OpenSSL's names for signature algorithm OIDs, so our output reads like `openssl x509 -text`.
enum SignatureAlgorithmName {
    static func name(for oid: ASN1ObjectIdentifier) -> String {
        switch oid.description {
        case "1.2.840.113549.1.1.4": return "md5WithRSAEncryption"
        case "1.2.840.113549.1.1.5": return "sha1WithRSAEncryption"
        case "1.2.840.113549.1.1.10": return "rsassaPss"
        case "1.2.840.113549.1.1.11": return "sha256WithRSAEncryption"
        case "1.2.840.113549.1.1.12": return "sha384WithRSAEncryption"
        case "1.2.840.113549.1.1.13": return "sha512WithRSAEncryption"
        case "1.2.840.10045.4.1": return "ecdsa-with-SHA1"
        case "1.2.840.10045.4.3.2": return "ecdsa-with-SHA256"
        case "1.2.840.10045.4.3.3": return "ecdsa-with-SHA384"
        case "1.2.840.10045.4.3.4": return "ecdsa-with-SHA512"
        case "1.3.101.112": return "ED25519"
        case "1.3.101.113": return "ED448"
        case "1.2.840.10040.4.3": return "dsaWithSHA1"
        case "2.16.840.1.101.3.4.3.1": return "dsa_with_SHA224"
        case "2.16.840.1.101.3.4.3.2": return "dsa_with_SHA256"
        case "2.16.840.1.101.3.4.3.3": return "dsa_with_SHA384"
        case "2.16.840.1.101.3.4.3.4": return "dsa_with_SHA512"
        default: return oid.description
        }
    }

    /// Whether the algorithm hashes with SHA-1 or MD5, which no CA may use for new certificates.
    static func isWeak(_ oid: ASN1ObjectIdentifier) -> Bool {
        ["1.2.840.113549.1.1.4", "1.2.840.113549.1.1.5", "1.2.840.10045.4.1", "1.2.840.10040.4.3"]
            .contains(oid.description)
    }
}
