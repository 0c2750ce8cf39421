import AsyncHTTPClient
import AtmoTesting
import Foundation
import NIOCore
import Testing

@testable import AtmoNode

/// A mesh request's timeout covers its whole exchange, head and body (hostile dec07e F7): a
/// peer trickling the body of `/health` or `/v1/catalogs` fails the probe or gossip round
/// once the timeout passes, so its failures count and the node stops waiting on it.
@Suite(.serialized)
struct MeshClientDeadlineTests {
    struct Hung: Error {}

    /// How `operation` ended: its error, `Hung` past `guardSeconds` (the test's own guard), or nil.
    /// The guard is 120 times the 1 s timeout, so a starved machine (CI once took 18 s to end a
    /// 1 s deadline) stays within it, while the trickled answer's `Content-Length` would take
    /// over two hours (`TricklingAnswerServer`): only a missing timeout reaches it.
    static func failure(guardSeconds: Double = 120, _ operation: @escaping @Sendable () async throws -> Void) async -> (any Error)? {
        do {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask { try await operation(); return true }
                group.addTask { try await Task.sleep(for: .seconds(guardSeconds)); return false }
                defer { group.cancelAll() }
                if try await group.next() == false { throw Hung() }
            }
            return nil
        } catch {
            return error
        }
    }

    @Test func aProbeWhoseBodyTricklesFailsWithinItsTimeout() async throws {
        let server = TricklingAnswerServer(interval: .seconds(2))
        let url = try await server.start()
        let client = MeshClient(http: HTTPClient.shared, timeout: .seconds(1))
        let error = await Self.failure { _ = try await client.probe(url) }
        await server.stop()
        #expect(!(error is Hung), "the probe hung past the test's guard")
        #expect(error is MeshRequestError, "\(String(describing: error))")
        #expect("\(String(describing: error))".contains("deadlineExceeded"))
    }

    @Test func aCatalogFetchWhoseBodyTricklesFailsWithinItsTimeout() async throws {
        let server = TricklingAnswerServer(interval: .seconds(2))
        let url = try await server.start()
        let client = MeshClient(http: HTTPClient.shared, timeout: .seconds(1))
        let error = await Self.failure { _ = try await client.fetchCatalogs(from: url) }
        await server.stop()
        #expect(!(error is Hung), "the catalog fetch hung past the test's guard")
        #expect(error is MeshRequestError, "\(String(describing: error))")
    }
}
