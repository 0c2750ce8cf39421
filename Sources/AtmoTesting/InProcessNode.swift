import AtmoNode
import AtmoStore
import Foundation
import Logging

/// A provider node running in this process on a free loopback port, for tests.
public struct RunningNode: Sendable {
    public let node: MeshNode
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }
}

/// Starts a provider on `127.0.0.1:0` offering `folders`, waits until it listens and has
/// finished its first scan (so every file is hashed and advertised), runs `body`, then
/// shuts the node down.
public func withMeshNode<T: Sendable>(
    stateDirectory: String, folders: [String], modelsDirectory: String? = nil,
    configure: (inout NodeConfiguration) -> Void = { _ in },
    logger: Logger = Logger(label: "atmo.test", factory: { _ in SwiftLogNoOpLogHandler() }),
    _ body: @Sendable (RunningNode) async throws -> T
) async throws -> T {
    var configuration = NodeConfiguration(
        stateDirectory: stateDirectory, modelsDirectory: modelsDirectory ?? stateDirectory + "/models",
        scanRoots: ScanRoots(extraFolders: folders.map { URL(fileURLWithPath: $0) }))
    configuration.host = "127.0.0.1"
    configuration.port = 0
    configuration.mesh.lanDiscovery = false  // tests never multicast on the host's network
    configure(&configuration)
    let node = try MeshNode(configuration: configuration, logger: logger)
    let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            // A run that ends before it is ready (a configuration it refuses) ends the stream.
            defer { portContinuation.finish() }
            try await node.run(gracefulShutdownSignals: []) { port in portContinuation.yield(port) }
            return nil
        }
        var ports = portStream.makeAsyncIterator()
        guard let port = await ports.next() else {
            // The node ended before it was ready: its error says why.
            _ = try await group.next()
            throw CancellationError()
        }
        // Wait for the first scan: every file hashed and advertised.
        while node.inventory.completedScans == 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        let result = try await body(RunningNode(node: node, port: port))
        group.cancelAll()
        return result
    }
}
