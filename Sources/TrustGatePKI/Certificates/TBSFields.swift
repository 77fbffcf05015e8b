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
    var extensions: Certificate.Extensions

    init(der: [UInt8]) throws {
        let root = try DER.parse(der)
        guard root.encodedBytes.count == der.count else {
            throw PKIError.malformedInput("trailing bytes after the certificate")
        }
        var tbs: TBSFields?
        var outerAlgorithm: ASN1ObjectIdentifier?
        try DER.sequence(root, identifier: .sequence) { nodes in
            guard let tbsNode = nodes.next() else {
                throw ASN1Error.invalidASN1Object(reason: "empty certificate")
            }
            tbs = try TBSFields(tbsNode: tbsNode)
            outerAlgorithm = try AlgorithmIdentifierFields.read(&nodes).0
            guard let signature = nodes.next() else {
                throw ASN1Error.invalidASN1Object(reason: "certificate has no signature")
            }
            _ = try ASN1BitString(derEncoded: signature)
        }
        guard var fields = tbs, let outerAlgorithm else {
            throw ASN1Error.invalidASN1Object(reason: "incomplete certificate")
        }
        fields.signatureAlgorithmOID = outerAlgorithm
        self = fields
    }

    private init(tbsNode: ASN1Node) throws {
        self = try DER.sequence(tbsNode, identifier: .sequence) { nodes in
            let version =
                try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { node in
                    try Int(derEncoded: node)
                } ?? 0
            let serial = try ArraySlice<UInt8>(derEncoded: &nodes)
            let innerAlgorithm = try AlgorithmIdentifierFields.read(&nodes).0
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
            var extensions = Certificate.Extensions()
            while let node = nodes.next() {
                // issuerUniqueID [1] and subjectUniqueID [2] are skipped; extensions are [3].
                guard node.identifier == ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific) else { continue }
                let list = try DER.explicitlyTagged(node, tagNumber: 3, tagClass: .contextSpecific) { inner in
                    try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: inner)
                }
                extensions = try Certificate.Extensions(list)
            }
            return TBSFields(
                version: version + 1,
                serialNumber: Array(serial),
                issuer: issuer,
                subject: subject,
                notBefore: notBefore,
                notAfter: notAfter,
                subjectPublicKeyInfo: Array(spkiNode.encodedBytes),
                publicKey: publicKey,
                signatureAlgorithmOID: innerAlgorithm,
                extensions: extensions
            )
        }
    }

    private static func name(_ nodes: inout ASN1NodeCollection.Iterator) throws -> DistinguishedName {
        guard let node = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "missing name") }
        return try DistinguishedName(derEncoded: node)
    }

    private init(
        version: Int, serialNumber: [UInt8], issuer: DistinguishedName, subject: DistinguishedName,
        notBefore: Date, notAfter: Date, subjectPublicKeyInfo: [UInt8], publicKey: KeyDescription,
        signatureAlgorithmOID: ASN1ObjectIdentifier, extensions: Certificate.Extensions
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
        self.extensions = extensions
    }
}

extension ASN1Node {
    fileprivate func asDate() throws -> Date {
        var components = DateComponents()
        components.timeZone = TimeZone(identifier: "UTC")
        if identifier == UTCTime.defaultIdentifier {
            let time = try UTCTime(derEncoded: self)
            (components.year, components.month, components.day) = (time.year, time.month, time.day)
            (components.hour, components.minute, components.second) = (time.hours, time.minutes, time.seconds)
        } else if identifier == GeneralizedTime.defaultIdentifier {
            let time = try GeneralizedTime(derEncoded: self)
            (components.year, components.month, components.day) = (time.year, time.month, time.day)
            (components.hour, components.minute, components.second) = (time.hours, time.minutes, time.seconds)
        } else {
            throw ASN1Error.invalidASN1Object(reason: "a validity time is neither UTCTime nor GeneralizedTime")
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        guard let date = calendar.date(from: components) else {
            throw ASN1Error.invalidASN1Object(reason: "a validity time is not a real date")
        }
        return date
    }
}
