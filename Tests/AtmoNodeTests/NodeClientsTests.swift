import AsyncHTTPClient
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

/// `withNodeClients` shuts every client of a run down, however the run ends.
struct NodeClientsTests {
    struct RunFailed: Error, Equatable {}

    /// A client whose shutdown fails (here: shut down already, by the body) does not keep the
    /// others running; its error is the one rethrown.
    @Test func aFailedShutdownStillShutsDownEveryOtherPart() async throws {
        try await withNode { node in
            var used: NodeClients?
            await #expect(throws: HTTPClientError.alreadyShutdown) {
                try await node.withNodeClients { clients in
                    used = clients
                    try await clients.mesh.shutdown()
                }
            }
            try await Self.expectShutDown(try #require(used))
        }
    }

    /// The body's error wins over a shutdown's, and everything is still shut down.
    @Test func theRunsErrorIsRethrownAfterTheShutdowns() async throws {
        try await withNode { node in
            var used: NodeClients?
            await #expect(throws: RunFailed()) {
                try await node.withNodeClients { clients in
                    used = clients
                    try await clients.mesh.shutdown()
                    throw RunFailed()
                }
            }
            try await Self.expectShutDown(try #require(used))
        }
    }

    /// Every client refuses a second shutdown and the file threads take no work.
    static func expectShutDown(_ clients: NodeClients) async throws {
        for (name, client) in [("mesh", clients.mesh), ("hub", clients.hub), ("pull", clients.pull)] {
            await #expect(throws: HTTPClientError.alreadyShutdown, "the \(name) client is still running") {
                try await client.shutdown()
            }
        }
        await #expect(throws: (any Error).self, "the file threads still run") {
            try await clients.fileReaders.runIfActive {}
        }
    }

    func withNode(_ body: (MeshNode) async throws -> Void) async throws {
        try await withTemporaryDirectory(prefix: "atmo-node-clients") { folder in
            let state = folder.path + "/state"
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            try await body(try MeshNode(configuration: NodeStartRefusalTests.configuration(state: state), logger: NodeStartRefusalTests.quiet))
        }
    }
}
