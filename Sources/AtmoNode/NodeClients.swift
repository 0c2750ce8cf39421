import AsyncHTTPClient
import AtmoTransfer
import NIOPosix

/// What one run of a node uses to reach other machines and read files: the mesh's HTTP
/// client, the Hub upstream's, the pulls', and the bounded pool of file threads. They are
/// made together and shut down together by `MeshNode.withNodeClients`, however the run ends
/// (a client left running traps in a debug build and leaks in a release build).
struct NodeClients: Sendable {
    /// Gossip, probes and catalogs; its requests end by their deadlines (the probe timeout for probes).
    let mesh: HTTPClient
    /// The Hub upstream's client: a 10 s read timeout is its stall bound for streamed files.
    let hub: HTTPClient
    /// Downloads from other nodes (`PullEngine`).
    let pull: HTTPClient
    /// One bounded pool for the node's blocking file work (serving reads, hashing, pulls,
    /// SQLite); a hash takes one of its threads at a time and stops when cancelled.
    let fileReaders: NIOThreadPool

    init(configuration: NodeConfiguration, fileReaderThreads: Int) {
        fileReaders = NIOThreadPool(numberOfThreads: fileReaderThreads)
        fileReaders.start()
        mesh = HTTPClient(
            eventLoopGroupProvider: .singleton, configuration: MeshClient.httpConfiguration(probeTimeout: configuration.mesh.probeTimeout))
        var hubConfiguration = HTTPClient.Configuration()
        hubConfiguration.timeout = .init(connect: .seconds(3), read: .seconds(10))
        hubConfiguration.connectionPool.retryConnectionEstablishment = false
        hub = HTTPClient(eventLoopGroupProvider: .singleton, configuration: hubConfiguration)
        pull = HTTPClient(eventLoopGroupProvider: .singleton, configuration: PullEngine.httpConfiguration(configuration.pull))
    }

    /// Shuts every part down, each one even when one before it failed; returns the first failure.
    func shutdown() async -> (any Error)? {
        var firstError: (any Error)?
        for client in [mesh, hub, pull] {
            do { try await client.shutdown() } catch { firstError = firstError ?? error }
        }
        do { try await fileReaders.shutdownGracefully() } catch { firstError = firstError ?? error }
        return firstError
    }
}

extension MeshNode {
    /// Runs `body` with this run's clients and shuts all of them down when it ends, however
    /// it ends: `body`'s error is rethrown first, else the first shutdown's.
    func withNodeClients<T>(_ body: (NodeClients) async throws -> T) async throws -> T {
        let clients = NodeClients(configuration: configuration, fileReaderThreads: Self.fileReaderThreads)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(clients))
        } catch {
            result = .failure(error)
        }
        let shutdownError = await clients.shutdown()
        let value = try result.get()
        if let shutdownError { throw shutdownError }
        return value
    }
}
