/// One file of a test PKI: where it goes, what it holds, and what a gateway trusting the test root must
/// decide about it.
public struct TestPKIFile: Sendable {
    /// File name inside the test PKI directory.
    public var name: String
    public var contents: [UInt8]
    /// A private key: written 0600.
    public var isSecret: Bool
    /// One line on what the file is for.
    public var purpose: String
    /// For backend certificates: the reason category a gateway that trusts `root-ca.pem` and expects
    /// `backend.test` gives; `nil` for supporting files.
    public var expectedCategory: ReasonCategory?

    public init(
        name: String, contents: [UInt8], isSecret: Bool = false, purpose: String,
        expectedCategory: ReasonCategory? = nil
    ) {
        self.name = name
        self.contents = contents
        self.isSecret = isSecret
        self.purpose = purpose
        self.expectedCategory = expectedCategory
    }
}
