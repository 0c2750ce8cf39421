import AsyncHTTPClient
import AtmoNode
import AtmoStore
import AtmoTransfer
import Logging

/// The pull engine this process builds for itself when it pulls without a running node's
/// queue (`--from URL`s, or the mesh view a running node without the route gave): one for
/// the single-file pull and the repository pull alike.
extension PullCommand {
    /// The engine's settings from `--connections` and `--stall-timeout`.
    var commandPullConfiguration: PullConfiguration {
        var configuration = PullConfiguration()
        configuration.connections = connections
        configuration.stallTimeoutSeconds = stallTimeout
        return configuration
    }

    /// Runs `body` with an engine on the node's state database (resume records), its own
    /// HTTP client (`commandPullConfiguration`) and storage admission under the local storage
    /// settings and this command's storage limit, and with the node's id, which the engine's
    /// requests name as the requester. Exits with the failure when the state database or the
    /// node's identity cannot be opened; the HTTP client's own failure is thrown.
    func withInProcessEngine<Value>(
        _ configuration: NodeConfiguration, logger: Logger,
        _ body: (_ engine: PullEngine, _ requesterNodeID: String) async throws -> Value
    ) async throws -> Value {
        let pullConfiguration = commandPullConfiguration
        let database: StateDatabase
        let identity: NodeIdentity
        do {
            database = try StateDatabase(path: configuration.databasePath)
            identity = try NodeIdentity.loadOrCreate(directory: configuration.stateDirectory)
        } catch {
            Failure(error).exit(json: json)
        }
        let storageLimit = self.storageLimit
        return try await HTTPClient.withHTTPClient(configuration: PullEngine.httpConfiguration(pullConfiguration)) { http in
            var storage = LocalStorage.configuration(stateDirectory: configuration.stateDirectory)
            storageLimit.apply(to: &storage)
            // No mesh view here: no model counts as held elsewhere, so only --evict-last-copies evicts.
            let engine = PullEngine(http: http, database: database, configuration: pullConfiguration, logger: logger)
                .withStorage(StorageAdmission(configuration: storage, database: database, logger: logger))
            return try await body(engine, identity.nodeID)
        }
    }
}
