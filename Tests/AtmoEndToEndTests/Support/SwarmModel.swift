import AtmoProtocol
import AtmoTesting
import Foundation

/// One model file offered by several `atmo serve` processes, each with its own copy, its
/// own folder and its own state folder: the providers of a swarm pull.
struct SwarmModel: Sendable {
    let id: String
    let sha256: String
    let size: Int64
    /// The first copy (they are all equal).
    let source: String
    let servers: [ServeProcess]

    /// Writes `size` pseudo-random bytes once, copies them to `copies` folders, serves each
    /// and waits until every provider lists the file with its piece manifest.
    static func offer(in sandbox: AtmoSandbox, id: String, size: Int64, seed: UInt64, copies: Int) async throws -> SwarmModel {
        let source = sandbox.path("p0") + "/" + id
        let sha256 = try ModelFixtures.writeModel(at: source, size: Int(size), seed: seed, header: .gguf)
        var servers: [ServeProcess] = []
        for index in 0..<copies {
            let folder = sandbox.path("p\(index)")
            if index > 0 {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: source, toPath: folder + "/" + id)
            }
            let server = try await sandbox.serve(
                folders: [folder], stateDirectory: sandbox.path("state-p\(index)"), name: "p\(index)", readyModels: [id])
            try await waitForManifest(server, modelID: id)
            servers.append(server)
        }
        return SwarmModel(id: id, sha256: sha256, size: size, source: source, servers: servers)
    }

    /// `atmo pull ID --from P1 --from P2 ... --state-dir DIR --json`.
    func pullArguments(from proxies: [TCPProxy], stateDirectory: String) -> [String] {
        ["pull", id] + proxies.flatMap { ["--from", $0.baseURL] } + ["--state-dir", stateDirectory, "--json"]
    }

    /// `.part` files in a consumer's partial folder.
    static func partialFiles(_ stateDirectory: String) -> [String] {
        let folder = stateDirectory + "/models/.atmo-partial"
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".part") }
    }

    /// Waits until `server`'s catalog entry for `modelID` names its piece manifest (the
    /// manifest is stored just after the hash: a pull started before would not swarm).
    @discardableResult
    static func waitForManifest(_ server: ServeProcess, modelID: String, timeout: Double = 60) async throws -> ModelEntry {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let entry = await server.catalog()?.first(where: { $0.modelID == modelID }), entry.manifestReference != nil {
                return entry
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ProcessFailure(message: "\(server.baseURL) did not name a piece manifest for \(modelID) within \(timeout) s")
    }
}

/// Runs `body` with one `TCPProxy` per `(upstream port, options)`, in order; all are
/// stopped when it returns.
func withProxies<T: Sendable>(
    _ upstreams: [(port: Int, options: TCPProxy.Options)], _ body: @escaping @Sendable ([TCPProxy]) async throws -> T
) async throws -> T {
    try await nestProxies(upstreams[...], made: [], body)
}

private func nestProxies<T: Sendable>(
    _ rest: ArraySlice<(port: Int, options: TCPProxy.Options)>, made: [TCPProxy], _ body: @escaping @Sendable ([TCPProxy]) async throws -> T
) async throws -> T {
    guard let next = rest.first else { return try await body(made) }
    let remaining = Array(rest.dropFirst())
    return try await TCPProxy.run(upstreamPort: next.port, options: next.options) { proxy in
        try await nestProxies(remaining[...], made: made + [proxy], body)
    }
}
