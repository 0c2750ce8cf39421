import Foundation
import Synchronization
import Testing

@testable import AtmoTransfer

/// `HashPace`: a spliced run's thread waits while the whole-file hasher is far behind it,
/// and only while the hasher has a piece to hash (never for a hole it cannot fill).
struct HashPaceTests {
    typealias S = SwarmScheduleTests

    /// A coordinator of a pull from one source alone (checks deferred) holding `held`.
    static func coordinator(pieces: Int, held: [Int]) -> SwarmCoordinator {
        SwarmCoordinator(schedule: S.schedule(pieces: pieces, held: held), keepAhead: 0, checksPieces: false)
    }

    @Test func aRunWaitsOnlyWhileTheHasherIsFarBehindWithWorkToDo() async throws {
        let coordinator = Self.coordinator(pieces: 40, held: Array(0...20))
        #expect(coordinator.hasherIsBehind(20, byMoreThan: 16))
        #expect(!coordinator.hasherIsBehind(16, byMoreThan: 16))
        // The hasher takes pieces 0-4: the run is 15 pieces ahead of it now.
        for _ in 0..<5 {
            let work = try #require(try await coordinator.nextHashWork())
            coordinator.hashed(work.piece, epoch: work.epoch)
        }
        #expect(!coordinator.hasherIsBehind(20, byMoreThan: 16))
        #expect(coordinator.hasherIsBehind(22, byMoreThan: 16))
    }

    @Test func aHoleAtTheHashersCursorNeverHoldsARun() {
        // Piece 0 went back to the schedule (a run cut short): the hasher waits for it, and
        // the run that would bring it may be queued behind the one asking.
        let coordinator = Self.coordinator(pieces: 40, held: Array(1...30))
        #expect(!coordinator.hasherIsBehind(30, byMoreThan: 16))
    }

    @Test func checkedPiecesNeverHoldARun() {
        let coordinator = SwarmCoordinator(schedule: S.schedule(pieces: 40, held: Array(0...30)), keepAhead: 0, checksPieces: true)
        #expect(!coordinator.hasherIsBehind(30, byMoreThan: 16))
    }

    /// The seconds a thread waited, once it is done.
    final class Waited: Sendable {
        let seconds = Mutex<Double?>(nil)
    }

    @Test func theHashersProgressWakesTheWaitingThread() async throws {
        let pace = HashPace()
        // "Behind" until this is set (a run's cancellation flag serves as a plain flag).
        let caughtUp = SplicedRunCancellation()
        let waited = Waited()
        let thread = Thread {
            let seconds = pace.wait(longest: 60) { !caughtUp.isCancelled }
            waited.seconds.withLock { $0 = seconds }
        }
        thread.start()
        try await Task.sleep(for: .milliseconds(300))
        #expect(waited.seconds.withLock { $0 } == nil, "the thread did not wait")
        caughtUp.cancel()
        pace.advanced()
        let deadline = ContinuousClock.now + .seconds(60)
        while waited.seconds.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        // Woken by the progress, not by the 60 s bound.
        #expect((waited.seconds.withLock { $0 } ?? 60) < 50)
    }

    @Test func aStuckHasherHoldsARunNoLongerThanTheBound() {
        let pace = HashPace()
        let waited = pace.wait(longest: 0.3) { true }
        #expect(waited >= 0.3)
    }
}
