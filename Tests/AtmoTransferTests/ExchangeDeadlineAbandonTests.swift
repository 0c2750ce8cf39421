import AsyncHTTPClient
import NIOCore
import Synchronization
import Testing

@testable import AtmoTransfer

/// `ExchangeDeadline.run` ends at its deadline, or when its caller is cancelled, without
/// waiting for the operation it gives up on: that operation is cancelled and left to end on
/// its own. With a task group, the call waited for it: under load, control requests with a
/// 1 s deadline ended after 18-35 s, once AsyncHTTPClient had wound the cancelled request down.
///
/// The operations here ignore cancellation: they wait on a latch that only the test opens,
/// at its end or at its 60 s hang guard. The checks compare with that latch, not a clock, so
/// a loaded machine changes nothing: a call that waited for its operation returns only once
/// the latch is open.
@Suite
struct ExchangeDeadlineAbandonTests {
    /// Opened once; `wait()` ignores cancellation.
    final class Latch: Sendable {
        private let state = Mutex<(isOpen: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        var isOpen: Bool { state.withLock { $0.isOpen } }

        func open() {
            let waiters = state.withLock { state in
                state.isOpen = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }

        func wait() async {
            await withCheckedContinuation { waiter in
                let isOpen = state.withLock { state in
                    if !state.isOpen { state.waiters.append(waiter) }
                    return state.isOpen
                }
                if isOpen { waiter.resume() }
            }
        }
    }

    /// An operation that holds until `release` opens, whatever its cancellation, then says
    /// whether it was cancelled (`cancelled`) and that it ended (`ended`).
    struct StubbornOperation: Sendable {
        let started = Latch()
        let release = Latch()
        let cancelled = Latch()
        let ended = Latch()

        func callAsFunction() async -> Int {
            started.open()
            await release.wait()
            if Task.isCancelled { cancelled.open() }
            ended.open()
            return 1
        }

        /// Opens `release` after 60 s: a `run` that waits for its operation then ends (and its
        /// test fails) instead of hanging the test run.
        func releaseAfterHangGuard() -> Task<Void, Never> {
            Task { [release] in
                try? await Task.sleep(for: .seconds(60))
                release.open()
            }
        }
    }

    @Test func theDeadlineEndsTheCallWhileTheOperationIgnoresCancellation() async throws {
        let operation = StubbornOperation()
        let hangGuard = operation.releaseAfterHangGuard()
        await #expect(throws: HTTPClientError.deadlineExceeded) {
            try await ExchangeDeadline.run(until: .now() + .milliseconds(100)) { await operation() }
        }
        #expect(!operation.release.isOpen, "the call returned only once its operation was released")
        operation.release.open()
        hangGuard.cancel()
        await operation.ended.wait()
        #expect(operation.cancelled.isOpen, "the operation given up on was not cancelled")
    }

    @Test func cancellingTheCallerEndsTheCallWhileTheOperationIgnoresCancellation() async throws {
        let operation = StubbornOperation()
        let hangGuard = operation.releaseAfterHangGuard()
        let call = Task {
            try await ExchangeDeadline.run(until: .now() + .seconds(600)) { await operation() }
        }
        await operation.started.wait()
        call.cancel()
        let result = await call.result
        #expect(!operation.release.isOpen, "the call returned only once its operation was released")
        #expect(throws: CancellationError.self) { try result.get() }
        operation.release.open()
        hangGuard.cancel()
        await operation.ended.wait()
        #expect(operation.cancelled.isOpen, "the operation given up on was not cancelled")
    }

    struct Refused: Error, Equatable {}

    @Test func theOperationsErrorWithinTheDeadlineIsThrown() async throws {
        await #expect(throws: Refused()) {
            try await ExchangeDeadline.run(until: .now() + .seconds(600)) { () async throws -> Int in throw Refused() }
        }
    }

    @Test func aCallerCancelledBeforehandDoesNotStartTheOperation() async throws {
        let operation = StubbornOperation()
        let hangGuard = operation.releaseAfterHangGuard()
        let call = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await ExchangeDeadline.run(until: .now() + .seconds(600)) { await operation() }
        }
        let result = await call.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(!operation.started.isOpen, "the operation ran for a caller already cancelled")
        operation.release.open()
        hangGuard.cancel()
    }

    /// Answer, deadline and cancellation all at once, many times: one of them decides each
    /// call (a continuation resumed twice, or never, would trap or hang here).
    @Test func outcomesArrivingTogetherDecideOnce() async throws {
        for round in 0..<300 {
            let call = Task { try await ExchangeDeadline.run(until: .now()) { round } }
            if round % 2 == 0 { call.cancel() }
            switch await call.result {
            case .success(let value): #expect(value == round)
            case .failure(let error):
                #expect(error is CancellationError || (error as? HTTPClientError) == .deadlineExceeded, "\(error)")
            }
        }
    }
}
