/// A small, fast, seedable random number generator (SplitMix64, Steele et al. 2014).
///
/// The mesh state machines take their randomness from one of these so that a test or a
/// simulation given the same seed makes exactly the same choices. A node seeds it from
/// the system generator (`SplitMix64(seed: .random(in: .min ... .max))`). Not for
/// cryptography.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    private var state: UInt64

    /// A generator whose sequence is fully determined by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// A uniformly distributed index in `0..<count` (`count` must be positive).
    package mutating func index(below count: Int) -> Int {
        Int.random(in: 0..<count, using: &self)
    }

    /// True with probability `probability` (clamped to [0, 1]).
    package mutating func chance(_ probability: Double) -> Bool {
        guard probability > 0 else { return false }
        guard probability < 1 else { return true }
        return Double.random(in: 0..<1, using: &self) < probability
    }
}
