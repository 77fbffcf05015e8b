/// The one error type of the PKI layer.
///
/// Shaped like swift-certificates' `CertificateError`: a `code` over a private enum, static factories,
/// a `reason` a user can read, and the input file where one is involved. Throw only for malformed input
/// and impossible requests; a certificate that is well-formed but not acceptable is a value, not an error.
public struct PKIError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; decides the exit code the CLI maps it to.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Backing: Hashable, Sendable {
            case malformedInput
            case unsupportedInput
            case invalidRequest
            case creationFailed
            case wrongPassword
            case passwordRequired
        }

        fileprivate var backing: Backing

        /// The input could not be decoded: bad PEM/DER, truncated, wrong kind of object.
        public static let malformedInput = Code(backing: .malformedInput)
        /// The input is well-formed but uses something TrustGate does not read.
        public static let unsupportedInput = Code(backing: .unsupportedInput)
        /// The request itself cannot be carried out (e.g. a leaf without an issuer).
        public static let invalidRequest = Code(backing: .invalidRequest)
        /// Key generation or signing failed in the crypto library.
        public static let creationFailed = Code(backing: .creationFailed)
        /// A PKCS#12 password was given and its MAC does not verify with it.
        public static let wrongPassword = Code(backing: .wrongPassword)
        /// A PKCS#12 file is protected and no password was given (an empty and an absent one were tried).
        public static let passwordRequired = Code(backing: .passwordRequired)

        public var description: String {
            switch backing {
            case .malformedInput: return "malformed-input"
            case .unsupportedInput: return "unsupported-input"
            case .invalidRequest: return "invalid-request"
            case .creationFailed: return "creation-failed"
            case .wrongPassword: return "wrong-password"
            case .passwordRequired: return "password-required"
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// The sentence a user reads: why it failed.
    public var reason: String
    /// A suggestion for what to do instead, if there is a useful one.
    public var hint: String?
    /// The input file the failure is about, if one is involved.
    public var file: String?

    public var description: String {
        if let file { return "\(reason) (\(file))" }
        return reason
    }

    /// The same error, attributed to an input file.
    public func about(file: String?) -> PKIError {
        var copy = self
        if copy.file == nil { copy.file = file }
        return copy
    }

    /// The input could not be decoded.
    public static func malformedInput(_ reason: String, hint: String? = nil, file: String? = nil) -> PKIError {
        PKIError(code: .malformedInput, reason: reason, hint: hint, file: file)
    }

    /// The input uses something TrustGate does not read.
    public static func unsupportedInput(_ reason: String, hint: String? = nil, file: String? = nil) -> PKIError {
        PKIError(code: .unsupportedInput, reason: reason, hint: hint, file: file)
    }

    /// The request cannot be carried out as asked.
    public static func invalidRequest(_ reason: String, hint: String? = nil) -> PKIError {
        PKIError(code: .invalidRequest, reason: reason, hint: hint, file: nil)
    }

    /// Key generation or signing failed.
    public static func creationFailed(_ reason: String) -> PKIError {
        PKIError(code: .creationFailed, reason: reason, hint: nil, file: nil)
    }
}

extension PKIError {
    /// Another library's error as a sentence for our output: swift-asn1's and swift-certificates' descriptions
    /// (`ASN1Error.invalidASN1Object: Invalid padding bit X509/KeyUsage.swift:269`) lose their type prefix and
    /// source location. For display only: no decision is ever made on this text.
    static func sentence(_ error: any Error) -> String {
        var text = String(describing: error)
        for prefix in ["ASN1Error.", "CertificateError."] where text.hasPrefix(prefix) {
            text.removeFirst(prefix.count)
        }
        // " Path/File.swift:123" at the end.
        if let space = text.lastIndex(of: " "), text[text.index(after: space)...].contains(".swift:") {
            text = String(text[..<space])
        }
        return text
    }
}
