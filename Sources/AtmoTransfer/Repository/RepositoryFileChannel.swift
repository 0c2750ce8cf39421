import AtmoProtocol
import NIOCore

/// A source's channel for the files of a repository it offers.
///
/// A file that is not also a standalone model (a config, a tokenizer, a shard) is in the
/// provider's `repositories` but not its `models`, so a source that does not list it by its
/// `model_id` is taken to offer it as the repository entry says (its size, SHA-256 and
/// manifest). A provider may offer the same commit under ids of its own (a node holding it
/// as a tag beside another `main` names its files `{org}--{name}-{hash}--{path}`): the
/// channel asks it for those (`own`) and answers the pull by the entry's ids, so one pull
/// takes a file from every node holding it, whatever id each gives it. The bytes are still
/// checked against the SHA-256, so a wrong answer costs a retry, never a bad file.
///
/// The ranges of a plain-HTTP source go over the pull's kept-alive connections
/// (`RepositoryConnections`) when it has them; other sources' through `base`.
struct RepositoryFileChannel: SourceChannel {
    let base: any SourceChannel
    /// The repository's files by their `model_id`, as single-file entries.
    let known: [String: ModelEntry]
    /// The files this source offers under another id, as it announced them, by the
    /// repository entry's id.
    var own: [String: ModelEntry] = [:]
    /// The repository pull's kept-alive connections (nil: every range through `base`).
    var connections: RepositoryConnections? = nil

    var address: String { base.address }
    var maxConcurrentPieces: Int { base.maxConcurrentPieces }

    /// The id this source offers the file `modelID` by.
    func theirID(_ modelID: String) -> String { own[modelID]?.modelID ?? modelID }

    /// `entry` as this source names it.
    func theirs(_ entry: ModelEntry) -> ModelEntry {
        var named = entry
        named.modelID = theirID(entry.modelID)
        return named
    }

    func entry(modelID: String) async throws(TransferError) -> ModelEntry? {
        if let announced = own[modelID] {
            var found = try await base.entry(modelID: announced.modelID) ?? announced
            found.modelID = modelID
            return found
        }
        if let listed = try await base.entry(modelID: modelID) { return listed }
        return known[modelID]
    }

    func requestTransfer(_ request: ModelRequest) async throws(TransferError) -> ModelTransferStart? {
        var named = request
        named.modelID = theirID(request.modelID)
        return try await base.requestTransfer(named)
    }

    func fetchPiece(
        of entry: ModelEntry, offset: Int64, length: Int64, received: @escaping @Sendable (Int64) -> Void
    ) async throws -> ByteBuffer {
        let named = theirs(entry)
        guard let client = base as? PeerClient, let connection = connections?.borrow(for: client) else {
            return try await base.fetchPiece(of: named, offset: offset, length: length, received: received)
        }
        defer { connections?.giveBack(connection, for: client) }
        let chunks = try await client.fetchChunks(
            of: named, offset: offset, length: length, on: connection.eventLoop, over: connection, received: received)
        if chunks.count == 1 { return chunks[0] }
        var buffer = ByteBufferAllocator().buffer(capacity: Int(length))
        for var chunk in chunks { buffer.writeBuffer(&chunk) }
        return buffer
    }

    func report(_ outcome: TransferReport, timeout: TimeAmount?) async {
        switch outcome {
        case .complete(var complete):
            complete.modelID = theirID(complete.modelID)
            await base.report(.complete(complete), timeout: timeout)
        case .cancel(var cancel):
            cancel.modelID = theirID(cancel.modelID)
            await base.report(.cancel(cancel), timeout: timeout)
        }
    }

    func availability(sha256: String) async throws(TransferError) -> PieceAvailability? {
        try await base.availability(sha256: sha256)
    }

    func manifest(for entry: ModelEntry) async throws(TransferError) -> PieceManifest? {
        try await base.manifest(for: theirs(entry))
    }

    /// The files of `repository` that `provider` (the same commit as one node announced
    /// it) holds under another id: the file at the same path with the same bytes, else any
    /// of its files with the same bytes, by the repository's file id.
    static func ownIDs(of repository: RepositoryEntry, in provider: RepositoryEntry) -> [String: ModelEntry] {
        var bySHA: [String: RepositoryFile] = [:]
        for file in provider.files where bySHA[file.sha256] == nil { bySHA[file.sha256] = file }
        var own: [String: ModelEntry] = [:]
        for file in repository.files {
            let same = { (candidate: RepositoryFile?) in
                candidate.flatMap { $0.sha256 == file.sha256 && $0.sizeBytes == file.sizeBytes ? $0 : nil }
            }
            guard let theirs = same(provider.file(atPath: file.path)) ?? same(bySHA[file.sha256]), theirs.modelID != file.modelID
            else { continue }
            own[file.modelID] = theirs.modelEntry(in: provider)
        }
        return own
    }
}

extension PullEngine {
    /// This engine, its sources taken to offer the files of `repository` (the files of a
    /// repository they list) even where they do not list them as models, each source by
    /// the ids its node's own entry in `providers` (by node id) gives them
    /// (`RepositoryFileChannel`), their plain-HTTP ranges over `connections` when given.
    func offering(
        _ repository: RepositoryEntry, providers: [String: RepositoryEntry] = [:], connections: RepositoryConnections? = nil
    ) -> PullEngine {
        let original = self
        let files = repository.files.map { $0.modelEntry(in: repository) }
        let known = Dictionary(files.map { ($0.modelID, $0) }, uniquingKeysWith: { first, _ in first })
        let own = providers.mapValues { RepositoryFileChannel.ownIDs(of: repository, in: $0) }.filter { !$0.value.isEmpty }
        var engine = PullEngine(
            http: http, database: database, configuration: configuration, logger: logger, blockingIO: blockingIO,
            channelFactory: { source in
                RepositoryFileChannel(
                    base: original.channel(to: source), known: known, own: source.nodeID.flatMap { own[$0] } ?? [:],
                    connections: connections)
            },
            partialOffers: partialOffers)
        engine.storage = storage
        return engine
    }
}
