import Foundation
import SwiftASN1
import X509

/// A minimal reader of the TBSCertificate fields (RFC 5280 §4.1), independent of whether the crypto library
/// supports the certificate's key: used for inspection, pinning and rejection reasons.
struct TBSFields {
    var version: Int
    var serialNumber: [UInt8]
    var issuer: DistinguishedName
    var subject: DistinguishedName
    var notBefore: Date
    var notAfter: Date
    var subjectPublicKeyInfo: [UInt8]
    var publicKey: KeyDescription
    var signatureAlgorithmOID: ASN1ObjectIdentifier
    /// The TBSCertificate's AlgorithmIdentifier as encoded, to compare with the outer one.
    var signatureAlgorithmBytes: ArraySlice<UInt8>
    var extensions: Certificate.Extensions

    init(der: [UInt8]) throws {
        let root = try DER.parse(der)
        guard root.encodedBytes.count == der.count else {
            throw PKIError.malformedInput("trailing bytes after the certificate")
        }
        var tbs: TBSFields?
        var outerAlgorithm: ASN1ObjectIdentifier?
        var outerAlgorithmBytes: ArraySlice<UInt8> = []
        try DER.sequence(root, identifier: .sequence) { nodes in
            guard let tbsNode = nodes.next() else {
                throw ASN1Error.invalidASN1Object(reason: "empty certificate")
            }
            tbs = try TBSFields(tbsNode: tbsNode)
            guard let algorithmNode = nodes.next() else {
                throw ASN1Error.invalidASN1Object(reason: "certificate has no signature algorithm")
            }
            outerAlgorithm = try AlgorithmIdentifierFields.read(algorithmNode).0
            outerAlgorithmBytes = algorithmNode.encodedBytes
            guard let signature = nodes.next() else {
                throw ASN1Error.invalidASN1Object(reason: "certificate has no signature")
            }
            _ = try ASN1BitString(derEncoded: signature)
            guard nodes.next() == nil else { throw ASN1Error.invalidASN1Object(reason: "extra fields after the signature") }
        }
        guard var fields = tbs, let outerAlgorithm else {
            throw ASN1Error.invalidASN1Object(reason: "incomplete certificate")
        }
        // RFC 5280 §4.1.1.2: the signature algorithm outside the TBSCertificate MUST be the one inside it.
        guard outerAlgorithmBytes == fields.signatureAlgorithmBytes else {
            throw PKIError.malformedInput("the signature algorithm differs inside and outside the signed part")
        }
        fields.signatureAlgorithmOID = outerAlgorithm
        self = fields
    }

    /// The largest serial number RFC 5280 §4.1.2.2 lets a CA write is 20 octets (their magnitude, as kept here:
    /// the sign octet is dropped, a negative serial does not parse). One more is still read, to be reported as a
    /// profile violation; anything longer is refused before it is stored or printed.
    static let maximumSerialOctets = 21

    private init(tbsNode: ASN1Node) throws {
        self = try DER.sequence(tbsNode, identifier: .sequence) { nodes in
            let version = try Self.version(&nodes)
            let serial = try ArraySlice<UInt8>(derEncoded: &nodes)
            guard serial.count <= Self.maximumSerialOctets else {
                throw PKIError.malformedInput(
                    "the serial number is \(serial.count) octets long; RFC 5280 allows at most 20"
                )
            }
            guard let algorithmNode = nodes.next() else {
                throw ASN1Error.invalidASN1Object(reason: "certificate has no signature algorithm")
            }
            let innerAlgorithm = try AlgorithmIdentifierFields.read(algorithmNode).0
            let issuer = try Self.name(&nodes)
            guard let validity = nodes.next() else {
                throw ASN1Error.invalidASN1Object(reason: "certificate has no validity")
            }
            let (notBefore, notAfter) = try DER.sequence(validity, identifier: .sequence) { times in
                guard let first = times.next(), let second = times.next(), times.next() == nil else {
                    throw ASN1Error.invalidASN1Object(reason: "Validity must hold two times")
                }
                return (try first.asDate(), try second.asDate())
            }
            let subject = try Self.name(&nodes)
            guard let spkiNode = nodes.next() else {
                throw ASN1Error.invalidASN1Object(reason: "certificate has no public key")
            }
            let publicKey = try KeyDescription(subjectPublicKeyInfo: spkiNode.encodedBytes)
            let extensions = try Self.trailingFields(&nodes, version: version)
            return TBSFields(
                version: version,
                serialNumber: Array(serial),
                issuer: issuer,
                subject: subject,
                notBefore: notBefore,
                notAfter: notAfter,
                subjectPublicKeyInfo: Array(spkiNode.encodedBytes),
                publicKey: publicKey,
                signatureAlgorithmOID: innerAlgorithm,
                signatureAlgorithmBytes: algorithmNode.encodedBytes,
                extensions: extensions
            )
        }
    }

    /// `version [0] EXPLICIT Version DEFAULT v1`: 1, 2 or 3 (RFC 5280 knows no other), from the encoded 0, 1 or 2.
    /// Read as raw octets, so no value, however long, is converted into an integer that could overflow.
    private static func version(_ nodes: inout ASN1NodeCollection.Iterator) throws -> Int {
        let encoded = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { node in
            try ArraySlice<UInt8>(derEncoded: node)
        }
        guard let encoded else { return 1 }
        guard encoded.count == 1, let value = encoded.first, value <= 2 else {
            throw PKIError.malformedInput("the certificate version is not v1, v2 or v3")
        }
        return Int(value) + 1
    }

    /// What may follow the SubjectPublicKeyInfo, in this order and nothing else: `issuerUniqueID [1]` and
    /// `subjectUniqueID [2]` (v2 and v3 only), then `extensions [3]` (v3 only, at least one extension). Every
    /// extension swift-certificates knows is decoded here, so a malformed one refuses the certificate instead
    /// of being read as absent later.
    private static func trailingFields(_ nodes: inout ASN1NodeCollection.Iterator, version: Int) throws
        -> Certificate.Extensions
    {
        var expected = 1
        var extensions = Certificate.Extensions()
        while let node = nodes.next() {
            let number = node.identifier.tagClass == .contextSpecific ? Int(node.identifier.tagNumber) : 0
            guard (1...3).contains(number), number >= expected else {
                throw ASN1Error.invalidASN1Object(reason: "unexpected field \(node.identifier) after the public key")
            }
            expected = number + 1
            guard number == 3 else {
                guard version >= 2 else {
                    throw PKIError.malformedInput("a v1 certificate carries a unique identifier")
                }
                _ = try ASN1BitString(derEncoded: node, withIdentifier: node.identifier)
                continue
            }
            guard version == 3 else { throw PKIError.malformedInput("a v\(version) certificate carries extensions") }
            let list = try DER.explicitlyTagged(node, tagNumber: 3, tagClass: .contextSpecific) { inner in
                try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: inner)
            }
            guard !list.isEmpty else { throw PKIError.malformedInput("the extensions field is empty") }
            extensions = try Certificate.Extensions(list)
        }
        try validate(extensions)
        return extensions
    }

    /// Decodes each extension type swift-certificates implements; throws at the first that does not decode.
    private static func validate(_ extensions: Certificate.Extensions) throws {
        let readers: [(String, (Certificate.Extensions) throws -> Void)] = [
            ("basicConstraints", { _ = try $0.basicConstraints }),
            ("keyUsage", { _ = try $0.keyUsage }),
            ("extendedKeyUsage", { _ = try $0.extendedKeyUsage }),
            ("subjectAltName", { _ = try $0.subjectAlternativeNames }),
            ("nameConstraints", { _ = try $0.nameConstraints }),
            ("authorityKeyIdentifier", { _ = try $0.authorityKeyIdentifier }),
            ("subjectKeyIdentifier", { _ = try $0.subjectKeyIdentifier }),
            ("authorityInfoAccess", { _ = try $0.authorityInformationAccess }),
        ]
        for (name, read) in readers {
            do {
                try read(extensions)
            } catch {
                throw PKIError.malformedInput("the \(name) extension is malformed: \(PKIError.sentence(error))")
            }
        }
    }

    private static func name(_ nodes: inout ASN1NodeCollection.Iterator) throws -> DistinguishedName {
        guard let node = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "missing name") }
        return try DistinguishedName(derEncoded: node)
    }

    private init(
        version: Int, serialNumber: [UInt8], issuer: DistinguishedName, subject: DistinguishedName,
        notBefore: Date, notAfter: Date, subjectPublicKeyInfo: [UInt8], publicKey: KeyDescription,
        signatureAlgorithmOID: ASN1ObjectIdentifier, signatureAlgorithmBytes: ArraySlice<UInt8>,
        extensions: Certificate.Extensions
    ) {
        self.version = version
        self.serialNumber = serialNumber
        self.issuer = issuer
        self.subject = subject
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.subjectPublicKeyInfo = subjectPublicKeyInfo
        self.publicKey = publicKey
        self.signatureAlgorithmOID = signatureAlgorithmOID
        self.signatureAlgorithmBytes = signatureAlgorithmBytes
        self.extensions = extensions
    }
}

extension ASN1Node {
    fileprivate func asDate() throws -> Date {
        // SwiftASN1 has checked every field's range, the day against its month included.
        if identifier == UTCTime.defaultIdentifier {
            let time = try UTCTime(derEncoded: self)
            return UTCDate.make(year: time.year, month: time.month, day: time.day,
                                hour: time.hours, minute: time.minutes, second: time.seconds)
        } else if identifier == GeneralizedTime.defaultIdentifier {
            let time = try GeneralizedTime(derEncoded: self)
            return UTCDate.make(year: time.year, month: time.month, day: time.day,
                                hour: time.hours, minute: time.minutes, second: time.seconds)
        } else {
            throw ASN1Error.invalidASN1Object(reason: "a validity time is neither UTCTime nor GeneralizedTime")
        }
    }
}
