import AtmoTesting
import Testing

@testable import AtmoTransfer

/// The download planner as a pure state machine: no I/O, no clock.
struct PiecePlanTests {
    func plan(
        size: Int64, piece: Int64 = 64, resumed: Bitfield? = nil, ahead: Int = 4, attempts: Int = 3, delay: Double = 0.5
    ) -> PiecePlan {
        PiecePlan(totalSize: size, pieceSize: piece, resumed: resumed, maxAhead: ahead, maxAttempts: attempts, retryBaseDelay: delay)
    }

    /// Takes the next assignment and returns its index, or nil for `.wait` / `.finished`.
    func take(_ plan: inout PiecePlan) -> Int? {
        if case .fetch(let index, _, _) = plan.nextAssignment() { return index }
        return nil
    }

    @Test func piecesCoverTheFileWithAShortLastPiece() {
        let plan = plan(size: 10 * 64 + 5)
        #expect(plan.pieceCount == 11)
        #expect(plan.range(of: 0) == (0, 64))
        #expect(plan.range(of: 9) == (576, 64))
        #expect(plan.range(of: 10) == (640, 5))
        let exact = self.plan(size: 640)
        #expect(exact.pieceCount == 10)
        #expect(exact.range(of: 9) == (576, 64))
        #expect(self.plan(size: 1).pieceCount == 1)
        #expect(self.plan(size: 1).range(of: 0) == (0, 1))
    }

    @Test func assignsLowestFirstWithExactRanges() {
        var plan = plan(size: 3 * 64 + 10, ahead: 8)
        #expect(plan.nextAssignment() == .fetch(index: 0, offset: 0, length: 64))
        #expect(plan.nextAssignment() == .fetch(index: 1, offset: 64, length: 64))
        #expect(plan.nextAssignment() == .fetch(index: 2, offset: 128, length: 64))
        #expect(plan.nextAssignment() == .fetch(index: 3, offset: 192, length: 10))
        #expect(plan.attempts == [1, 1, 1, 1])
        #expect(plan.states.allSatisfy { $0 == .inFlight })
    }

    @Test func neverAssignsPastTheWindow() {
        var plan = plan(size: 10 * 64, ahead: 3)
        #expect([take(&plan), take(&plan), take(&plan)] == [0, 1, 2])
        #expect(plan.nextAssignment() == .wait)
        // Written but not hashed does not move the window.
        plan.pieceWritten(1, keptInMemory: true)
        plan.pieceWritten(2, keptInMemory: true)
        #expect(plan.nextAssignment() == .wait)
        plan.pieceWritten(0, keptInMemory: true)
        #expect(plan.nextAssignment() == .wait)
        plan.pieceHashed(0)
        #expect(take(&plan) == 3)
        #expect(plan.nextAssignment() == .wait)
        plan.pieceHashed(1)
        plan.pieceHashed(2)
        #expect([take(&plan), take(&plan)] == [4, 5])
        #expect(plan.nextAssignment() == .wait)
    }

    /// A long random run of the workers and the hasher: the invariants hold at every step.
    @Test(arguments: [1, 2, 3, 7])
    func windowInvariantUnderRandomEvents(seed: Int) {
        var generator = SplitMix64(seed: UInt64(seed))
        var plan = plan(size: 37 * 64 + 3, ahead: 5, attempts: 1000, delay: 0)
        var inFlight: [Int] = []
        var steps = 0
        while plan.nextHashStep() != .complete {
            steps += 1
            #expect(steps < 100_000)
            if steps >= 100_000 { return }
            switch Int.random(in: 0..<4, using: &generator) {
            case 0:
                if case .fetch(let index, let offset, let length) = plan.nextAssignment() {
                    #expect(index >= plan.hashCursor && index < plan.hashCursor + plan.maxAhead)
                    #expect(offset == Int64(index) * 64 && length == plan.range(of: index).length)
                    #expect(!inFlight.contains(index))
                    inFlight.append(index)
                }
            case 1 where !inFlight.isEmpty:
                let index = inFlight.remove(at: Int.random(in: 0..<inFlight.count, using: &generator))
                plan.pieceWritten(index, keptInMemory: true)
            case 2 where !inFlight.isEmpty:
                let position = Int.random(in: 0..<inFlight.count, using: &generator)
                let index = inFlight[position]
                if case .retry = plan.pieceFailed(index) {
                    // The failing worker keeps the piece and fetches it again.
                    #expect(
                        plan.retry(index)
                            == .fetch(index: index, offset: plan.range(of: index).offset, length: plan.range(of: index).length))
                } else {
                    Issue.record("gave up with 1000 attempts")
                }
            default:
                if case .hash(let index, let fromMemory) = plan.nextHashStep() {
                    #expect(index == plan.hashCursor && fromMemory)
                    plan.pieceHashed(index)
                }
            }
        }
        #expect(plan.writtenBytes == plan.totalSize)
        #expect(plan.writtenPieces.setCount == plan.pieceCount)
        #expect(plan.nextAssignment() == .finished)
    }

    @Test func resumedPiecesAreSkippedAndHashedFromDisk() {
        var saved = Bitfield(count: 6)
        saved[0] = true
        saved[2] = true
        saved[5] = true
        var plan = plan(size: 5 * 64 + 20, resumed: saved, ahead: 8)
        #expect(plan.writtenBytes == 64 + 64 + 20)
        #expect(plan.writtenPieces == saved)
        #expect([take(&plan), take(&plan), take(&plan)] == [1, 3, 4])
        #expect(plan.nextAssignment() == .finished)
        #expect(plan.nextHashStep() == .hash(index: 0, fromMemory: false))
        plan.pieceHashed(0)
        #expect(plan.nextHashStep() == .wait)
        plan.pieceWritten(1, keptInMemory: true)
        #expect(plan.nextHashStep() == .hash(index: 1, fromMemory: true))
        plan.pieceHashed(1)
        #expect(plan.nextHashStep() == .hash(index: 2, fromMemory: false))
    }

    @Test func resumeBitfieldOfAnotherSizeIsIgnored() {
        var saved = Bitfield(count: 3)
        saved[0] = true
        let plan = plan(size: 10 * 64, resumed: saved)
        #expect(plan.writtenBytes == 0)
        #expect(plan.states.allSatisfy { $0 == .missing })
    }

    @Test func failuresRetryWithDoublingDelayThenGiveUp() {
        var plan = plan(size: 4 * 64, ahead: 4, attempts: 4, delay: 0.5)
        #expect(take(&plan) == 0)
        #expect(plan.pieceFailed(0) == .retry(afterSeconds: 0.5))
        #expect(plan.retry(0) == .fetch(index: 0, offset: 0, length: 64))
        #expect(plan.pieceFailed(0) == .retry(afterSeconds: 1.0))
        #expect(plan.retry(0) == .fetch(index: 0, offset: 0, length: 64))
        #expect(plan.pieceFailed(0) == .retry(afterSeconds: 2.0))
        #expect(plan.retry(0) == .fetch(index: 0, offset: 0, length: 64))
        #expect(plan.attempts[0] == 4)
        #expect(plan.pieceFailed(0) == .giveUp(attempts: 4))
    }

    /// The retry delay is real back-off: while the failing worker waits, no other worker
    /// may take the piece at once (which would turn every retry into an immediate one).
    @Test func aFailedPieceIsNotHandedToAnotherWorkerDuringItsBackOff() {
        var plan = plan(size: 2 * 64, ahead: 4, attempts: 3, delay: 1)
        #expect([take(&plan), take(&plan)] == [0, 1])
        #expect(plan.pieceFailed(0) == .retry(afterSeconds: 1))
        // Another worker asking now gets nothing: piece 0 belongs to its retrying worker.
        #expect(take(&plan) == nil)
        #expect(plan.states[0] == .inFlight)
        #expect(plan.retry(0) == .fetch(index: 0, offset: 0, length: 64))
        #expect(plan.attempts[0] == 2)
    }

    @Test func finishedOnlyWhenNothingIsLeftToFetch() {
        var plan = plan(size: 3 * 64, ahead: 8)
        #expect([take(&plan), take(&plan)] == [0, 1])
        // Piece 2 is still missing: a worker must take it.
        #expect(take(&plan) == 2)
        // All in flight, nothing missing: idle workers are done (a failing piece is
        // retried by the worker that holds it).
        #expect(plan.nextAssignment() == .finished)
        plan.pieceWritten(0, keptInMemory: true)
        #expect(plan.nextAssignment() == .finished)
    }

    @Test func waitWhenMissingPiecesLieBeyondTheWindow() {
        var plan = plan(size: 4 * 64, ahead: 2)
        #expect([take(&plan), take(&plan)] == [0, 1])
        #expect(plan.nextAssignment() == .wait)
        plan.pieceWritten(0, keptInMemory: false)
        plan.pieceWritten(1, keptInMemory: false)
        #expect(plan.nextAssignment() == .wait)
    }

    @Test func hashStepsFollowFileOrder() {
        var plan = plan(size: 3 * 64, ahead: 8)
        _ = [take(&plan), take(&plan), take(&plan)]
        #expect(plan.nextHashStep() == .wait)
        plan.pieceWritten(2, keptInMemory: true)
        plan.pieceWritten(1, keptInMemory: false)
        #expect(plan.nextHashStep() == .wait)
        plan.pieceWritten(0, keptInMemory: true)
        #expect(plan.nextHashStep() == .hash(index: 0, fromMemory: true))
        plan.pieceHashed(0)
        #expect(plan.nextHashStep() == .hash(index: 1, fromMemory: false))
        plan.pieceHashed(1)
        #expect(plan.nextHashStep() == .hash(index: 2, fromMemory: true))
        plan.pieceHashed(2)
        #expect(plan.nextHashStep() == .complete)
        #expect(plan.hashCursor == 3)
        #expect(plan.states == [.hashed, .hashed, .hashed])
    }

    @Test func zeroSizeFileIsCompleteAtOnce() {
        var plan = plan(size: 0)
        #expect(plan.pieceCount == 0)
        #expect(plan.nextAssignment() == .finished)
        #expect(plan.nextHashStep() == .complete)
        #expect(plan.writtenBytes == 0)
        #expect(plan.writtenPieces.count == 0 && plan.writtenPieces.bytes.isEmpty)
        // A saved (empty) bitfield of a zero-size download is accepted.
        var resumed = PiecePlan(totalSize: 0, pieceSize: 64, resumed: Bitfield(count: 0), maxAhead: 1, maxAttempts: 1, retryBaseDelay: 0)
        #expect(resumed.nextAssignment() == .finished)
    }

    @Test func writtenBytesAndPiecesCountShortLastPiece() {
        var plan = plan(size: 2 * 64 + 7, ahead: 8)
        _ = [take(&plan), take(&plan), take(&plan)]
        #expect(plan.writtenBytes == 0 && plan.writtenPieces.setCount == 0)
        plan.pieceWritten(2, keptInMemory: true)
        #expect(plan.writtenBytes == 7)
        #expect(plan.writtenPieces[2] && !plan.writtenPieces[0])
        plan.pieceWritten(0, keptInMemory: true)
        plan.pieceHashed(0)
        #expect(plan.writtenBytes == 71)
        #expect(plan.writtenPieces.setCount == 2)
        plan.pieceWritten(1, keptInMemory: true)
        #expect(plan.writtenBytes == plan.totalSize)
    }

    /// After a fail-over within one run, the pieces already in the running hash start as
    /// hashed: the hash cursor (and the fetch window) start past them.
    @Test func aHashedPrefixStartsTheCursorPastIt() {
        var resumed = Bitfield(count: 6)
        for index in [0, 1, 2, 4] { resumed[index] = true }
        var plan = PiecePlan(
            totalSize: 6 * 64, pieceSize: 64, resumed: resumed, hashedPrefix: 2, maxAhead: 2, maxAttempts: 3, retryBaseDelay: 0)
        #expect(plan.hashCursor == 2)
        #expect(plan.states == [.hashed, .hashed, .written(inMemory: false), .missing, .written(inMemory: false), .missing])
        #expect(plan.writtenPieces == resumed)
        #expect(plan.writtenBytes == 4 * 64)
        #expect(plan.nextHashStep() == .hash(index: 2, fromMemory: false))
        #expect(take(&plan) == 3)
        #expect(take(&plan) == nil)
    }
}
