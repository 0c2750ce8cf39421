import Testing

@testable import AtmoNode

/// The bound on manifest parts a node sends each peer over relays and its WebSocket.
struct PieceQueryBudgetTests {
    /// `take` answers in order, for `budget`.
    static func takes(_ budget: inout PieceQueryBudget, _ asks: [(parts: Int, peer: String, now: Double)]) -> [Bool] {
        asks.map { budget.take($0.parts, peer: $0.peer, now: $0.now) }
    }

    @Test func aPeerGetsItsBurstThenTheRefillRate() {
        var budget = PieceQueryBudget(burst: 10, partsPerSecond: 2)
        #expect(Self.takes(&budget, Array(repeating: (1, "a", 0), count: 10)) == Array(repeating: true, count: 10))
        let answers = Self.takes(
            &budget,
            [
                (1, "a", 0),  // the burst is spent
                (10, "b", 0),  // another peer has its own bucket
                (1, "a", 0.5), (1, "a", 0.5),  // half a second later: one part more, not two
                (11, "a", 100), (10, "a", 100),  // a long wait refills to the burst only; a refusal costs nothing
                (11, "c", 0),  // a manifest larger than the burst is never sent
            ])
        #expect(answers == [false, true, true, false, false, true, false])
    }

    @Test func peersBeyondTheLimitAreForgottenOnceTheirBucketsAreFull() {
        var budget = PieceQueryBudget(burst: 4, partsPerSecond: 1, maxPeers: 2)
        let answers = Self.takes(
            &budget,
            [
                (4, "a", 0), (4, "b", 0),
                (1, "c", 1),  // a's and b's buckets are empty: no room to track c
                (1, "c", 10),  // full again, a and b are forgotten
                (3, "c", 5), (1, "c", 5),  // a clock that goes back refills nothing
            ])
        #expect(answers == [true, true, false, true, true, false])
        #expect(budget.trackedPeers == 1)
    }
}
