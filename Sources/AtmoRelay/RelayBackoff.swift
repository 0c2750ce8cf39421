/// Jittered exponential backoff between reconnects to one relay. Each delay is drawn
/// uniformly from the upper half of its ceiling, so many nodes that lost one relay do not
/// come back in step.
///
/// - A failed attempt or a lost connection: the ceiling starts at `baseMs` and doubles per
///   failure in a row, up to `capMs`.
/// - A refusal (an `error` answering the hello): the ceiling starts at `refusedBaseMs` and
///   doubles per refusal in a row, up to `refusedMs`. A refusal is often brief: after the
///   older Python relay restarts it has forgotten every registration, and answers members
///   "Mesh not registered" until the founder is back, a few seconds later. A token that is
///   really bad still settles at one attempt per `refusedMs` after a few minutes.
public struct RelayBackoff: Sendable, Hashable {
    /// The first delay's upper bound after a failure, in milliseconds.
    public var baseMs: Int64 = 500
    /// The largest delay after failures, in milliseconds.
    public var capMs: Int64 = 30_000
    /// The first delay's upper bound after a refusal, in milliseconds.
    public var refusedBaseMs: Int64 = 1_000
    /// The largest delay after refusals (bad token, full mesh, mesh unknown), in milliseconds.
    public var refusedMs: Int64 = 300_000
    /// Failed attempts in a row.
    public private(set) var failures = 0
    /// Refusals in a row.
    public private(set) var refusals = 0

    /// A backoff with the default delays.
    public init() {}

    /// The delay before the next attempt after a failure (or a lost connection), in milliseconds.
    public mutating func nextDelay(using random: inout some RandomNumberGenerator) -> Int64 {
        defer { failures += 1 }
        return Self.jittered(base: baseMs, cap: capMs, step: failures, using: &random)
    }

    /// The delay before the next attempt after the relay refused the hello, in milliseconds.
    public mutating func nextRefusedDelay(using random: inout some RandomNumberGenerator) -> Int64 {
        defer { refusals += 1 }
        return Self.jittered(base: refusedBaseMs, cap: refusedMs, step: refusals, using: &random)
    }

    /// A session got admitted: the next failure or refusal starts from its base again.
    public mutating func succeeded() {
        failures = 0
        refusals = 0
    }

    /// A delay in the upper half of `min(cap, base * 2^step)`.
    private static func jittered(base: Int64, cap: Int64, step: Int, using random: inout some RandomNumberGenerator) -> Int64 {
        let ceiling = max(0, min(cap, base << Int64(min(step, 20))))
        return ceiling / 2 + Int64.random(in: 0...(ceiling - ceiling / 2), using: &random)
    }
}
