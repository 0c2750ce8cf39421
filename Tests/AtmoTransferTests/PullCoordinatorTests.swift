import AtmoTesting
import NIOCore
import Testing

@testable import AtmoTransfer

/// The shared plan of one pull: waiting workers and the hasher must always wake up, on
/// progress, on failure and on cancellation.
struct PullCoordinatorTests {
    func coordinator(pieces: Int, ahead: Int = 2, attempts: Int = 2) -> PullCoordinator {
        PullCoordinator(
            plan: PiecePlan(
                totalSize: Int64(pieces) * 4, pieceSize: 4, maxAhead: ahead, maxAttempts: attempts, retryBaseDelay: 0))
    }

    func index(_ work: PullCoordinator.Work) -> Int? {
        if case .fetch(let index, _, _) = work { return index }
        return nil
    }

    @Test func aWaitingWorkerWakesWhenTheWindowMoves() async throws {
        let coordinator = coordinator(pieces: 4, ahead: 2)
        #expect(index(try await coordinator.nextWork()) == 0)
        #expect(index(try await coordinator.nextWork()) == 1)
        let waiting = Task { try await coordinator.nextWork() }
        try await Task.sleep(for: .milliseconds(50))
        coordinator.written(0, buffer: ByteBuffer(bytes: [0, 1, 2, 3]))
        guard case .hash(0, let buffer?) = try await coordinator.nextHashWork() else {
            Issue.record("piece 0 should be hashed from memory")
            return
        }
        #expect(buffer.readableBytes == 4)
        coordinator.hashed(0)
        let work = try await withDeadline(60) { try await waiting.value }
        #expect(index(work) == 2)
    }

    @Test func aFailureWakesEveryWaiter() async throws {
        let coordinator = coordinator(pieces: 4, ahead: 1)
        #expect(index(try await coordinator.nextWork()) == 0)
        let worker = Task { try await coordinator.nextWork() }
        let hasher = Task { try await coordinator.nextHashWork() }
        try await Task.sleep(for: .milliseconds(50))
        coordinator.fail(TransferError(.protocolViolation, "bad peer"))
        for outcome in [await worker.result.map { _ in () }, await hasher.result.map { _ in () }] {
            guard case .failure(let error as TransferError) = outcome else {
                Issue.record("expected the pull's failure, got \(outcome)")
                continue
            }
            #expect(error.code == .protocolViolation)
        }
        // Later callers get the same failure at once.
        await #expect(throws: TransferError.self) { try await coordinator.nextWork() }
    }

    @Test func givingUpFailsThePull() async throws {
        let coordinator = coordinator(pieces: 2, ahead: 2, attempts: 2)
        #expect(index(try await coordinator.nextWork()) == 0)
        let delay = try coordinator.failed(0, error: TransferError(.timeout, "slow"))
        #expect(delay == 0)
        // The piece stays with the failing worker during its back-off.
        #expect(index(try await coordinator.nextWork()) == 1)
        #expect(index(try coordinator.retry(0)) == 0)
        #expect(throws: TransferError.self) { try coordinator.failed(0, error: TransferError(.timeout, "slow")) }
        do {
            _ = try await coordinator.nextHashWork()
            Issue.record("the hasher should see the failure")
        } catch let error as TransferError {
            #expect(error.code == .timeout)
            #expect(error.message.contains("failed 2 times"))
        }
    }

    @Test func cancellationEndsAWait() async throws {
        let coordinator = coordinator(pieces: 4, ahead: 1)
        _ = try await coordinator.nextWork()
        let worker = Task { try await coordinator.nextWork() }
        let hasher = Task { try await coordinator.nextHashWork() }
        try await Task.sleep(for: .milliseconds(50))
        worker.cancel()
        hasher.cancel()
        let results = try await withDeadline(60) { (await worker.result.map { _ in () }, await hasher.result.map { _ in () }) }
        for result in [results.0, results.1] {
            guard case .failure(let error) = result else {
                Issue.record("a cancelled wait must throw")
                continue
            }
            #expect(error is CancellationError)
        }
    }

    @Test func anAlreadyCancelledTaskDoesNotPark() async throws {
        let coordinator = coordinator(pieces: 4, ahead: 1)
        _ = try await coordinator.nextWork()
        let worker = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await coordinator.nextWork()
        }
        let result = try await withDeadline(60) { await worker.result.map { _ in () } }
        guard case .failure(let error) = result else {
            Issue.record("a cancelled wait must throw")
            return
        }
        #expect(error is CancellationError)
    }

    /// Six workers with random failures and the in-order hasher over a small window: all
    /// of them end, every piece is written once and hashed in file order.
    @Test func manyWorkersAndTheHasherFinishTogether() async throws {
        let pieces = 64
        let coordinator = coordinator(pieces: pieces, ahead: 3, attempts: 100)
        let (written, hashedOrder) = try await withDeadline(120) {
            try await withThrowingTaskGroup(of: (Int, [Int]).self) { group in
                for worker in 0..<6 {
                    group.addTask {
                        var done = 0
                        var random = SplitMix64(seed: UInt64(worker))
                        var work = try await coordinator.nextWork()
                        while case .fetch(let index, _, _) = work {
                            await Task.yield()
                            if random.next() % 4 == 0 {
                                _ = try coordinator.failed(index, error: TransferError(.timeout, "flaky"))
                                work = try coordinator.retry(index)
                                continue
                            }
                            coordinator.written(index, buffer: ByteBuffer(bytes: [UInt8](repeating: UInt8(index), count: 4)))
                            done += 1
                            work = try await coordinator.nextWork()
                        }
                        return (done, [])
                    }
                }
                group.addTask {
                    var order: [Int] = []
                    while case .hash(let index, let buffer) = try await coordinator.nextHashWork() {
                        #expect(buffer.map { Array($0.readableBytesView) } == [UInt8](repeating: UInt8(index), count: 4))
                        order.append(index)
                        coordinator.hashed(index)
                    }
                    return (0, order)
                }
                var written = 0
                var order: [Int] = []
                for try await (done, hashed) in group {
                    written += done
                    order += hashed
                }
                return (written, order)
            }
        }
        #expect(written == pieces)
        #expect(hashedOrder == Array(0..<pieces))
        #expect(coordinator.progressBytes.bytes == Int64(pieces) * 4)
    }

    @Test func zeroPiecesFinishAtOnce() async throws {
        let coordinator = coordinator(pieces: 0)
        guard case .finished = try await coordinator.nextWork() else {
            Issue.record("nothing to fetch")
            return
        }
        guard case .complete = try await coordinator.nextHashWork() else {
            Issue.record("nothing to hash")
            return
        }
    }
}
