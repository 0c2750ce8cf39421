import AtmoNode
import AtmoStore
import AtmoTesting
import Foundation
import Logging
import Testing

/// A node whose configuration it cannot use fails to start with an error that says what to
/// do, and releases what it had made (its HTTP clients, its file threads) on the way out: a
/// client left running traps in a debug build ("Client not shut down before the deinit",
/// which ends the whole test process) and leaks in a release build.
struct NodeStartRefusalTests {
    @Test(.timeLimit(.minutes(2)))
    func anUnreadableMeshMembershipStopsTheStartWithWhatToDo() async throws {
        let error = try await startError { state, _ in
            try Data("{not json".utf8).write(to: URL(fileURLWithPath: MeshMembership.path(stateDirectory: state)))
        }
        #expect(error.message.contains("mesh.json"), "\(error.message)")
        #expect(error.message.contains("atmo mesh join"), "\(error.message)")
    }

    @Test(.timeLimit(.minutes(2)))
    func aPublicDashboardWhoseTokenCannotBeWrittenStopsTheStart() async throws {
        let error = try await startError { state, configuration in
            configuration.dashboardPublic = true
            // A folder where the token file goes: it can be neither read nor written.
            try FileManager.default.createDirectory(
                atPath: DashboardToken.path(stateDirectory: state) + "/in-the-way", withIntermediateDirectories: true)
        }
        #expect(error.message.contains("dashboard-token"), "\(error.message)")
    }

    /// The same state folder serves once the bad file is gone: the failed start left nothing behind.
    @Test(.timeLimit(.minutes(2)))
    func theNodeStartsOnceTheBadFileIsGone() async throws {
        try await withTemporaryDirectory(prefix: "atmo-start-refusal") { folder in
            let state = folder.path + "/state"
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            let membership = MeshMembership.path(stateDirectory: state)
            try Data("{not json".utf8).write(to: URL(fileURLWithPath: membership))
            let node = try MeshNode(configuration: Self.configuration(state: state), logger: Self.quiet)
            await #expect(throws: StoreError.self) { try await node.run(gracefulShutdownSignals: []) }
            try FileManager.default.removeItem(atPath: membership)
            let port = try await withMeshNode(stateDirectory: state, folders: []) { $0.port }
            #expect(port > 0)
        }
    }

    /// `withMeshNode` of a node that refuses to start ends with the node's error instead of
    /// waiting for a port that never comes.
    @Test(.timeLimit(.minutes(2)))
    func withMeshNodeEndsWithTheRefusal() async throws {
        try await withTemporaryDirectory(prefix: "atmo-start-refusal") { folder in
            let state = folder.path + "/state"
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            try Data("{not json".utf8).write(to: URL(fileURLWithPath: MeshMembership.path(stateDirectory: state)))
            await #expect(throws: StoreError.self) { try await withMeshNode(stateDirectory: state, folders: []) { $0.port } }
        }
    }

    static let quiet = Logger(label: "atmo.test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func configuration(state: String) -> NodeConfiguration {
        var configuration = NodeConfiguration(
            stateDirectory: state, modelsDirectory: state + "/models", scanRoots: ScanRoots(extraFolders: []))
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.mesh.lanDiscovery = false
        return configuration
    }

    /// The error `run` throws for a node set up by `prepare`; fails the test if it starts.
    func startError(
        _ prepare: (_ state: String, _ configuration: inout NodeConfiguration) throws -> Void
    ) async throws -> StoreError {
        try await withTemporaryDirectory(prefix: "atmo-start-refusal") { folder in
            let state = folder.path + "/state"
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            var configuration = Self.configuration(state: state)
            try prepare(state, &configuration)
            let node = try MeshNode(configuration: configuration, logger: Self.quiet)
            // A node that starts after all is stopped, so the test fails instead of hanging.
            let (ready, readyContinuation) = AsyncStream.makeStream(of: Void.self)
            let run = Task { try await node.run(gracefulShutdownSignals: []) { _ in readyContinuation.yield() } }
            let watch = Task {
                for await _ in ready {
                    Issue.record("the node started")
                    run.cancel()
                }
            }
            let result = await run.result
            readyContinuation.finish()
            await watch.value
            switch result {
            case .failure(let error as StoreError): return error
            case .failure(let error): throw error
            case .success:
                Issue.record("run returned without an error")
                return StoreError(.conflict, "no error")
            }
        }
    }
}
