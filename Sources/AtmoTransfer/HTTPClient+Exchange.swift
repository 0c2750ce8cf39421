import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

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
    /// Runs `operation`, cancelled at `deadline`; past it, throws
    /// `HTTPClientError.deadlineExceeded`: the error AsyncHTTPClient gives when the head
    /// is late, so callers map both the same way.
    package static func run<T: Sendable>(
        until deadline: NIODeadline, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                let left = deadline - .now()
                if left > .zero { try await Task.sleep(nanoseconds: UInt64(left.nanoseconds)) }
                return nil
            }
            defer { group.cancelAll() }
            // The first child to end decides: the exchange's answer or error, or the deadline.
            guard let first = try await group.next(), let answer = first else {
                try Task.checkCancellation()
                throw HTTPClientError.deadlineExceeded
            }
            return answer
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
