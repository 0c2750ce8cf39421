import AsyncHTTPClient
import AtmoProtocol
import AtmoTesting
import Foundation
import Logging
import NIOCore
import Testing

@testable import AtmoTransfer

/// A control request's deadline covers its whole exchange, head and body (hostile dec07e F7):
/// a peer that sends a 200 head and then one body byte every 2 s fails the request as a
/// timeout once the deadline passes, instead of holding it for the hours its
/// `Content-Length` would take.
@Suite(.serialized)
struct ControlExchangeDeadlineTests {
    /// A client whose control deadline is 1 s, against `url`.
    static func client(_ url: String) -> PeerClient {
        var client = PeerClient(baseURL: url, http: HTTPClient.shared, logger: Logger(label: "control-exchange-deadline-test"))
        client.controlTimeout = .seconds(1)
        return client
    }

    /// `operation`'s error, or a failure naming a hang past `guardSeconds` (the test's own
    /// guard). The guard is 120 times the 1 s deadline, so a starved machine (CI once took 18 s
    /// to end a 1 s deadline) stays within it, while the trickled answer's `Content-Length`
    /// would take over two hours (`TricklingAnswerServer`): only a missing deadline reaches it.
    static func failure(guardSeconds: Double = 120, _ operation: @escaping @Sendable () async throws -> Void) async -> (any Error)? {
        do {
            try await withDeadline(guardSeconds) { try await operation() }
            return nil
        } catch {
            return error
        }
    }

    @Test func anEntryWhoseBodyTricklesFailsAsATimeout() async throws {
        let server = TricklingAnswerServer(interval: .seconds(2))
        let client = Self.client(try await server.start())
        let error = await Self.failure { _ = try await client.entry(modelID: "m.gguf") }
        await server.stop()
        #expect(!(error is DeadlineExceeded), "the entry request hung past the test's guard")
        #expect((error as? TransferError)?.code == .timeout, "\(String(describing: error))")
        // At most once: a timed-out exchange is not retried. (None at all when a starved server
        // had not read the head yet as the 1 s deadline ended the exchange.)
        #expect(server.requestCount <= 1)
    }

    @Test func aManifestWhoseBodyTricklesFailsAsATimeout() async throws {
        let server = TricklingAnswerServer(interval: .seconds(2))
        let client = Self.client(try await server.start())
        let entry = PeerClientManifestTests.model().entry
        let error = await Self.failure { _ = try await client.manifest(for: entry) }
        await server.stop()
        #expect(!(error is DeadlineExceeded), "the manifest request hung past the test's guard")
        #expect((error as? TransferError)?.code == .timeout, "\(String(describing: error))")
    }

    @Test func aTransferRequestWhoseBodyTricklesFailsAsATimeout() async throws {
        let server = TricklingAnswerServer(interval: .seconds(2))
        let client = Self.client(try await server.start())
        let request = ModelRequest(requestID: "r1", requesterNodeID: "n1", targetNodeID: "n2", modelID: "m.gguf")
        let error = await Self.failure { _ = try await client.requestTransfer(request) }
        await server.stop()
        #expect(!(error is DeadlineExceeded), "the transfer request hung past the test's guard")
        #expect((error as? TransferError)?.code == .timeout, "\(String(describing: error))")
    }

    /// The shared helper itself: an answer within the deadline is returned whole.
    @Test func anExchangeWithinItsDeadlineReturnsTheAnswer() async throws {
        let value = try await ExchangeDeadline.run(until: .now() + .seconds(10)) { 42 }
        #expect(value == 42)
        await #expect(throws: HTTPClientError.deadlineExceeded) {
            try await ExchangeDeadline.run(until: .now() + .milliseconds(100)) {
                try await Task.sleep(for: .seconds(30))
                return 0
            }
        }
    }
}
