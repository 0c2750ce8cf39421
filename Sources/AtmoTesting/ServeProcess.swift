import AtmoProtocol
import Foundation

/// `atmo serve` running as a child process on 127.0.0.1, on a port the OS chose (or the one
/// passed, to restart a node where it was), offering `folders` and nothing else.
public struct ServeProcess: Sendable {
    public let process: AtmoProcess
    public let port: Int
    public let stateDirectory: String
    public let folders: [String]
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// `/health`, nil when the node does not answer.
    public func health() async -> HTTPAPI.Health? {
        await HTTPProbe.getJSON(HTTPAPI.Health.self, port: port, path: HTTPAPI.healthPath)
    }

    /// `/v1/models`, nil when the node does not answer.
    public func catalog() async -> [ModelEntry]? {
        await HTTPProbe.getJSON(HTTPAPI.ModelList.self, port: port, path: HTTPAPI.modelsPath)?.models
    }

    /// The mesh's models as this node knows them (`/v1/mesh/models`), nil when it does not answer.
    public func meshModels() async -> [MeshAPI.Model]? {
        await HTTPProbe.getJSON(MeshAPI.ModelList.self, port: port, path: MeshAPI.modelsPath)?.models
    }

    /// The peers this node knows (`/v1/mesh/peers`), nil when it does not answer.
    public func meshPeers() async -> [MeshAPI.Peer]? {
        await HTTPProbe.getJSON(MeshAPI.PeerList.self, port: port, path: MeshAPI.peersPath)?.peers
    }

    /// Polls `condition` on this node's mesh view until it holds; throws with the last
    /// view after `timeout` seconds.
    @discardableResult
    public func waitForMesh(
        _ what: String, timeout: Double = 60, until condition: @Sendable ([MeshAPI.Model]) -> Bool
    ) async throws -> [MeshAPI.Model] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [MeshAPI.Model]? = nil
        while Date() < deadline {
            if let models = await meshModels() {
                if condition(models) { return models }
                last = models
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let seen = last.map { $0.map { "\($0.entry.modelID)@\($0.providers.map(\.nodeID))" } }
        throw ProcessFailure(message: "\(baseURL): \(what) not seen within \(timeout) s; mesh view: \(String(describing: seen))")
    }

    /// Waits until the node has nothing left to hash and lists every id of `modelIDs`
    /// (with `sha256` when given); returns the catalog.
    @discardableResult
    public func waitUntilReady(listing modelIDs: [String], sha256: [String: String] = [:], timeout: Double = 120) async throws
        -> [ModelEntry]
    {
        let deadline = Date().addingTimeInterval(timeout)
        var last = "no answer"
        while Date() < deadline {
            guard process.isRunning else {
                throw ProcessFailure(message: "atmo serve exited (\(process.process.terminationStatus)): \(process.standardError)")
            }
            if let health = await health(), health.modelsHashing == 0, let catalog = await catalog() {
                let ready = modelIDs.allSatisfy { id in
                    catalog.contains { $0.modelID == id && (sha256[id] == nil || $0.sha256 == sha256[id]) }
                }
                if ready { return catalog }
                last = "hashing done; listed \(catalog.map { "\($0.modelID)=\($0.sha256.prefix(8))" })"
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ProcessFailure(message: "atmo serve did not list \(modelIDs) within \(timeout) s (\(last)): \(process.standardError)")
    }
}

extension AtmoSandbox {
    /// Starts `atmo serve --host 127.0.0.1 --port PORT --port-file F --state-dir D --folder M...
    /// --no-huggingface --no-llamafarm --no-lan` (tests never multicast on the host's network)
    /// and waits until it serves and lists `readyModels`.
    /// `port` 0 lets the OS choose; pass a former node's port to restart it there.
    public func serve(
        folders: [String], stateDirectory: String, port: Int = 0, name: String = "serve",
        readyModels: [String] = [], extraArguments: [String] = [], timeout: Double = 120
    ) async throws -> ServeProcess {
        let portFile = path("\(name)-\(UUID().uuidString.prefix(8)).port")
        var arguments = [
            "serve", "--host", "127.0.0.1", "--port", "\(port)", "--port-file", portFile,
            "--state-dir", stateDirectory, "--no-huggingface", "--no-llamafarm", "--no-lan",
        ]
        for folder in folders { arguments += ["--folder", folder] }
        let process = try start(arguments + extraArguments, name: name)
        let bound = try await waitForPortFile(portFile, process: process, timeout: timeout)
        let server = ServeProcess(process: process, port: bound, stateDirectory: stateDirectory, folders: folders)
        try await server.waitUntilReady(listing: readyModels, timeout: timeout)
        return server
    }
}
