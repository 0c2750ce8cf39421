import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// A small answer read whole: its status, headers and body.
package struct CollectedResponse: Sendable {
    package var status: HTTPResponseStatus
    package var headers: HTTPHeaders
    package var body: ByteBuffer
    /// The URL that answered (after redirects), if known.
    package var url: URL?
}

/// One deadline over a whole exchange, head and body.
///
/// AsyncHTTPClient's `execute(_:deadline:)` (and `timeout:`) bounds a request only until its
/// response head: its deadline task is cancelled once `execute` returns, and the read timeout
/// restarts with every byte. A peer that sends a head and then one body byte every few
/// seconds would hold `body.collect(upTo:)` for hours. Every small control exchange (JSON
/// requests, manifests, catalogs, probes) goes through `HTTPClient.exchange` or
/// `collect(upTo:deadline:)` instead. Streamed file bodies (range fetches, Hub downloads)
/// have their own stall timeout and throughput floor and do not use this.
package enum ExchangeDeadline {
    /// Runs `operation` in a task of its own and returns with the first of: its answer, its
    /// error, the deadline (`HTTPClientError.deadlineExceeded`: the error AsyncHTTPClient gives
    /// when the head is late, so callers map both the same way), or the caller's cancellation
    /// (`CancellationError`).
    ///
    /// The call does not wait for the operation it gave up on: that is cancelled and ends on
    /// its own (AsyncHTTPClient then closes the request's connection). A task group would wait
    /// for it: under load, 1 s deadlines ended after 18-35 s, when the cancelled request had
    /// wound down.
    package static func run<T: Sendable>(
        until deadline: NIODeadline, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try Task.checkCancellation()
        let race = Race<T>()
        race.track(
            Task {
                do { race.decide(.success(try await operation())) } catch { race.decide(.failure(error)) }
            })
        race.track(
            Task {
                let left = deadline - .now()
                // Cancelled once something else decided: `decide` then ignores the deadline.
                if left > .zero { try? await Task.sleep(nanoseconds: UInt64(left.nanoseconds)) }
                race.decide(.failure(HTTPClientError.deadlineExceeded))
            })
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { race.wait($0) }
        } onCancel: {
            race.decide(.failure(CancellationError()))
        }
    }

    /// The first outcome of one `run`, and who waits for it. The waiter is resumed exactly
    /// once, by `decide` if it already waits, else by `wait`; both tasks (the operation and
    /// the deadline's timer) are cancelled once an outcome is known, even one tracked later.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var outcome: Result<T, any Error>?
            var waiter: CheckedContinuation<T, any Error>?
            var tasks: [Task<Void, Never>] = []
        }

        private let state = Mutex(State())

        /// Keeps the first outcome (later ones are dropped), hands it to the waiter, and
        /// cancels the tasks.
        func decide(_ outcome: Result<T, any Error>) {
            let decided = state.withLock { state -> (waiter: CheckedContinuation<T, any Error>?, tasks: [Task<Void, Never>])? in
                guard state.outcome == nil else { return nil }
                state.outcome = outcome
                defer { (state.waiter, state.tasks) = (nil, []) }
                return (state.waiter, state.tasks)
            }
            guard let decided else { return }
            // Cancelled before the waiter goes on: an abandoned operation is already told to stop
            // when the caller sees the outcome.
            for task in decided.tasks { task.cancel() }
            decided.waiter?.resume(with: outcome)
        }

        /// The caller's continuation: resumed now if the outcome is known, else by `decide`.
        func wait(_ waiter: CheckedContinuation<T, any Error>) {
            let outcome = state.withLock { state in
                if state.outcome == nil { state.waiter = waiter }
                return state.outcome
            }
            if let outcome { waiter.resume(with: outcome) }
        }

        /// A task to cancel once the outcome is known (at once if it already is).
        func track(_ task: Task<Void, Never>) {
            let decided = state.withLock { state in
                if state.outcome == nil { state.tasks.append(task) }
                return state.outcome != nil
            }
            if decided { task.cancel() }
        }
    }
}

extension HTTPClient {
    /// Sends `request` and reads its whole answer (at most `limit` body bytes, else
    /// `NIOTooManyBytesError`), all within `timeout`, else `HTTPClientError.deadlineExceeded`.
    package func exchange(
        _ request: HTTPClientRequest, timeout: TimeAmount, limit: Int, logger: Logger? = nil
    ) async throws -> CollectedResponse {
        let deadline = NIODeadline.now() + timeout
        return try await ExchangeDeadline.run(until: deadline) {
            let response = try await self.execute(request, deadline: deadline, logger: logger)
            let body = try await response.body.collect(upTo: limit)
            return CollectedResponse(status: response.status, headers: response.headers, body: body, url: response.url)
        }
    }
}

extension HTTPClientResponse.Body {
    /// `collect(upTo:)` that ends at `deadline` (`HTTPClientError.deadlineExceeded`), for a
    /// small body whose head came through another path (a redirect-following helper).
    package func collect(upTo limit: Int, deadline: NIODeadline) async throws -> ByteBuffer {
        try await ExchangeDeadline.run(until: deadline) { try await self.collect(upTo: limit) }
    }
}
