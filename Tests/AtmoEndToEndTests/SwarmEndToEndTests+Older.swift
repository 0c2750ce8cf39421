import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd.SwarmEndToEnd {
    static let olderSize: Int64 = 16 * mebibyte
    /// A node of before piece manifests: no `piece_size`/`pieces_sha256` in its catalog, 404
    /// for `/v1/pieces/`, byte ranges served as ever.
    static var older: TCPProxy.Options {
        var options = TCPProxy.Options(bytesPerSecond: 8 << 20)
        options.hidePieceManifests = true
        return options
    }
    /// 8 MiB/s each: two providers share the file instead of the first one taking it all.
    static let newer = TCPProxy.Options(bytesPerSecond: 8 << 20)

    @Test("a provider from before manifests takes part in a swarm pull; with no manifest anywhere, one source at a time")
    func providerWithoutManifests() async throws {
        try await withAtmoSandbox { sandbox in
            let size = Self.olderSize
            let model = try await SwarmModel.offer(in: sandbox, id: "swarm-older.gguf", size: size, seed: 43, copies: 2)

            // The older node is checked first: it really answers as one.
            try await withProxies([(model.servers[1].port, Self.older)]) { proxies in
                let list = try #require(await HTTPProbe.getJSON(HTTPAPI.ModelList.self, port: proxies[0].port, path: HTTPAPI.modelsPath))
                let entry = try #require(list.models.first { $0.modelID == model.id })
                #expect(entry.pieceSize == nil && entry.piecesSHA256 == nil && entry.sha256 == model.sha256, "\(entry)")
                #expect(await HTTPProbe.get(port: proxies[0].port, path: HTTPAPI.piecesPrefix + model.sha256)?.status == 404)
            }

            // A swarm pull: the newer one gives the manifest, both give pieces.
            try await Self.pullFromNewerAndOlder(sandbox, model, olderFirst: false)

            // No manifest anywhere: the pull of before, from the first source alone.
            try await withProxies(model.servers.map { ($0.port, Self.older) }) { proxies in
                let consumer = sandbox.path("consumer-plain")
                let pull = try await sandbox.run(model.pullArguments(from: proxies, stateDirectory: consumer), name: "pull-plain")
                #expect(pull.status == 0, "\(pull.stderr)")
                #expect(pull.pullOutput.result?.bytesTransferred == size)
                #expect(filesEqual(consumer + "/models/" + model.id, model.source))
                let sent = proxies.map(\.bytesToClients)
                print("SwarmEndToEnd no manifest anywhere: bytes per provider \(sent)")
                #expect(sent[0] >= size && sent[0] <= size + Self.headAllowance, "bytes per provider: \(sent)")
                #expect(sent[1] < Self.headAllowance, "the second source was not needed: \(sent)")
            }
        }
    }

    @Test("a provider from before manifests listed first: the swarm still takes the manifest and pieces of the newer one")
    func olderProviderFirst() async throws {
        try await withAtmoSandbox { sandbox in
            let model = try await SwarmModel.offer(in: sandbox, id: "swarm-older-first.gguf", size: Self.olderSize, seed: 45, copies: 2)
            try await Self.pullFromNewerAndOlder(sandbox, model, olderFirst: true)
        }
    }

    /// `atmo pull --from NEWER --from OLDER` (or the other way round): installs the right
    /// bytes, each provider sent at least a piece, nothing was sent twice.
    static func pullFromNewerAndOlder(
        _ sandbox: AtmoSandbox, _ model: SwarmModel, olderFirst: Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let piece = PieceManifest.pieceSize(forFileSize: model.size)
        let newer = (model.servers[0].port, Self.newer)
        let older = (model.servers[1].port, Self.older)
        try await withProxies(olderFirst ? [older, newer] : [newer, older]) { proxies in
            let consumer = sandbox.path(olderFirst ? "consumer-older-first" : "consumer-newer-first")
            let pull = try await sandbox.run(model.pullArguments(from: proxies, stateDirectory: consumer), name: "pull-mixed")
            #expect(pull.status == 0, "\(pull.stderr)", sourceLocation: sourceLocation)
            #expect(pull.pullOutput.result?.bytesTransferred == model.size, sourceLocation: sourceLocation)
            #expect(filesEqual(consumer + "/models/" + model.id, model.source), sourceLocation: sourceLocation)
            let sent = proxies.map(\.bytesToClients)
            print("SwarmEndToEnd older and newer: bytes per provider (\(olderFirst ? "older, newer" : "newer, older")) \(sent)")
            let order = olderFirst ? "older, newer" : "newer, older"
            #expect(sent.allSatisfy { $0 >= piece }, "bytes per provider (\(order)): \(sent)", sourceLocation: sourceLocation)
            #expect(
                sent.reduce(0, +) <= model.size + piece + Self.headAllowance, "bytes per provider (\(order)): \(sent)",
                sourceLocation: sourceLocation)
        }
    }
}
