import Foundation
import SwiftASN1
import X509

/// Turns the words users type after `--san` into typed subject alternative names, as mkcert does:
/// an IPv4 or IPv6 address becomes an IP SAN, `email:` or anything with an `@` an email SAN, `uri:` or
/// anything with `://` a URI SAN, and everything else a DNS name (a leading `*.` wildcard allowed).
public enum SubjectAlternativeName {
    /// Parses one `--san` value.
    public static func parse(_ text: String) throws(PKIError) -> GeneralName {
        let value = text.trimmingCharacters(in: .whitespaces)
        let lowered = value.lowercased()
        if lowered.hasPrefix("dns:") {
            return try dnsName(String(value.dropFirst(4)))
        }
        if lowered.hasPrefix("ip:") {
            guard let bytes = IPAddressBytes.parse(String(value.dropFirst(3))) else {
                throw .invalidRequest("'\(value)' is not an IPv4 or IPv6 address")
            }
            return .ipAddress(ASN1OctetString(contentBytes: bytes[...]))
        }
        if lowered.hasPrefix("email:") {
            return try email(String(value.dropFirst(6)))
        }
        if lowered.hasPrefix("uri:") {
            return try uri(String(value.dropFirst(4)))
        }
        if let bytes = IPAddressBytes.parse(value) {
            return .ipAddress(ASN1OctetString(contentBytes: bytes[...]))
        }
        if value.contains("://") { return try uri(value) }
        if value.contains("@") { return try email(value) }
        return try dnsName(value)
    }

    /// The SAN a common name stands for, if it is a host name, an IP address or an email address.
    public static func forCommonName(_ commonName: String) -> GeneralName? {
        guard !commonName.contains(" ") else { return nil }
        return try? parse(commonName)
    }

    /// How a SAN is printed: `DNS:backend.test`, `IP:10.0.0.4`, `email:a@b`, `URI:https://…`.
    public static func display(_ name: GeneralName) -> String {
        switch name {
        case .dnsName(let dns): return "DNS:\(dns)"
        case .ipAddress(let octets): return "IP:\(IPAddressBytes.format(Array(octets.bytes)))"
        case .rfc822Name(let mail): return "email:\(mail)"
        case .uniformResourceIdentifier(let uri): return "URI:\(uri)"
        case .directoryName(let name): return "DirName:\(name)"
        case .registeredID(let oid): return "RID:\(oid)"
        case .otherName(let other): return "othername:\(other.typeID)"
        case .x400Address: return "X400Name"
        case .ediPartyName: return "EdiPartyName"
        }
    }

    private static func dnsName(_ name: String) throws(PKIError) -> GeneralName {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
        guard !name.isEmpty, name.count <= 253, name.isASCII else {
            throw .invalidRequest("'\(name)' is not a valid DNS name")
        }
        for (index, label) in labels.enumerated() {
            if index == 0, label == "*", labels.count >= 3 { continue }  // *.example.test, not *.test
            guard !label.isEmpty, label.count <= 63, label.allSatisfy({ allowed.contains($0) }),
                label.first != "-", label.last != "-"
            else {
                let hint =
                    label.contains("*")
                    ? "a wildcard must be the whole left-most label of a name with at least three labels"
                    : nil
                throw .invalidRequest("'\(name)' is not a valid DNS name", hint: hint)
            }
        }
        return .dnsName(name.lowercased())
    }

    private static func email(_ address: String) throws(PKIError) -> GeneralName {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, address.isASCII, !address.contains(" ") else {
            throw .invalidRequest("'\(address)' is not a valid email address")
        }
        return .rfc822Name(address)
    }

    private static func uri(_ text: String) throws(PKIError) -> GeneralName {
        guard let url = URL(string: text), let scheme = url.scheme, !scheme.isEmpty, text.isASCII else {
            throw .invalidRequest("'\(text)' is not a valid URI")
        }
        return .uniformResourceIdentifier(text)
    }
}

extension String {
    fileprivate var isASCII: Bool { utf8.allSatisfy { $0 < 0x80 } }
}
