import AtmoProtocol
import Foundation

/// The repositories the inventory offers (issue 12): one per Hugging Face snapshot, once
/// every file the last scan found in it is hashed and served.
///
/// A repository is built from the items alone (their hashes, sizes and manifests), so it
/// follows them: a file withdrawn (a blob that does not match its name) or not hashed yet
/// keeps its repository out, since a consumer installing it must get every file. A snapshot
/// whose revision, repository id, a path or a blob id the wire would refuse is not offered
/// either (its standalone files still are). Built once per inventory generation.
extension Inventory {
    /// The offered repositories, sorted by model id.
    public var repositories: [RepositoryEntry] {
        state.withLock { state in
            if let cache = state.repositoryCache, cache.generation == state.generation { return cache.repositories }
            let built = Self.buildRepositories(items: state.items, fileCounts: state.repositoryFileCounts)
            state.repositoryCache = (state.generation, built)
            return built
        }
    }

    /// The offered repository whose model id is `id`.
    public func repository(modelID id: String) -> RepositoryEntry? {
        repositories.first { $0.modelID == id }
    }

    /// How many files each scanned snapshot holds, by repository model id. A refused entry
    /// counts too (it never becomes an item), so its repository is never offered.
    static func repositoryFileCounts(_ files: [ScannedFile], refused: [RefusedEntry] = []) -> [String: Int] {
        var counts: [String: Int] = files.reduce(into: [:]) { counts, file in
            if let hub = file.hub { counts[hub.repositoryModelID, default: 0] += 1 }
        }
        for entry in refused { counts[entry.repositoryModelID, default: 0] += 1 }
        return counts
    }

    /// Logs each refused snapshot entry once while it stays refused.
    func logRefusals(_ refused: [RefusedEntry]) {
        let fresh = state.withLock { state in
            let current = Set(refused.map(\.path))
            let fresh = refused.filter { !state.loggedRefusals.contains($0.path) }
            state.loggedRefusals = current
            return fresh
        }
        for entry in fresh {
            logger.error(
                "Hugging Face snapshot entry resolves outside its repository's blobs; not offering it nor its repository",
                metadata: ["path": "\(entry.path)", "target": "\(entry.target)"])
        }
    }

    /// The repositories whose files are all among `items`.
    static func buildRepositories(items: [String: InventoryItem], fileCounts: [String: Int]) -> [RepositoryEntry] {
        var groups: [String: [InventoryItem]] = [:]
        for item in items.values {
            if let hub = item.hub { groups[hub.repositoryModelID, default: []].append(item) }
        }
        var built: [RepositoryEntry] = []
        for (id, members) in groups where members.count == fileCounts[id] {
            // A standalone file (or any other item) may already hold the id `{org}--{name}`.
            let modelID = items[id] == nil ? id : ModelIdentifier.appending(ModelIdentifier.shortHash("repository:" + id), to: id)
            let sorted = members.sorted { $0.entry.modelID < $1.entry.modelID }
            if let entry = repository(modelID: modelID, sorted) { built.append(entry) }
        }
        return built.sorted { $0.modelID < $1.modelID }
    }

    /// The entry of one snapshot's items, or nil when the wire would refuse it.
    static func repository(modelID: String, _ members: [InventoryItem]) -> RepositoryEntry? {
        guard let first = members.first?.hub, (1...WireLimits.maxFilesPerRepository).contains(members.count),
            Validation.isValidRepositoryID(first.repoID), Validation.isValidRevision(first.revision)
        else { return nil }
        var files: [RepositoryFile] = []
        for item in members {
            guard let hub = item.hub, hub.revision == first.revision, let blobID = hub.blobID,
                Validation.isValidRepositoryPath(hub.path), blobID.utf8.count == 40 || blobID == item.entry.sha256
            else { return nil }
            files.append(
                RepositoryFile(
                    path: hub.path, sizeBytes: item.entry.sizeBytes, sha256: item.entry.sha256, blobID: blobID,
                    modelID: item.entry.modelID, pieceSize: item.entry.pieceSize, piecesSHA256: item.entry.piecesSHA256))
        }
        let main = mainWeights(members)
        let type = main?.entry.type ?? "unknown"
        let entry = RepositoryEntry(
            modelID: modelID, repoID: first.repoID, revision: first.revision, refs: first.refs, name: first.repoID,
            type: type, format: main?.entry.format ?? "", capabilities: ScannedFile.capabilities(type: type),
            version: String(first.revision.prefix(12)), source: "huggingface", sourceRef: first.repoID, files: files)
        return entry.filesConflict == nil ? entry : nil
    }

    /// Formats of weights (the rest is config, tokenizer, text).
    static let weightFormats: Set<String> = [
        "gguf", "safetensors", "onnx", "tflite", "pt", "bin", "h5", "ckpt", "msgpack", "mlmodel", "npz",
    ]

    /// The largest file of the format holding the most weight bytes: what the repository's
    /// `format` and `type` come from (its type, or any file's known type when it has none).
    static func mainWeights(_ members: [InventoryItem]) -> InventoryItem? {
        let weights = members.filter { weightFormats.contains($0.entry.format) }
        let bytesByFormat = weights.reduce(into: [String: Int64]()) { $0[$1.entry.format, default: 0] += $1.entry.sizeBytes }
        guard let format = bytesByFormat.max(by: { ($0.value, $1.key) < ($1.value, $0.key) })?.key else { return nil }
        guard var main = weights.filter({ $0.entry.format == format }).max(by: { $0.entry.sizeBytes < $1.entry.sizeBytes })
        else { return nil }
        if main.entry.kind == .unknown, let typed = members.first(where: { $0.entry.kind != .unknown }) {
            main.entry.type = typed.entry.type
        }
        return main
    }
}
