/// A small deterministic random generator (xorshift64) for mutation tests, so a failure can be replayed from
/// its seed.
public struct XorShift: Sendable {
    public var state: UInt64

    public init(seed: UInt64) {
        state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    }

    public mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }

    /// One of `alphabet`'s elements.
    public mutating func element<T>(of alphabet: [T]) -> T { alphabet[Int(next() % UInt64(alphabet.count))] }
}
