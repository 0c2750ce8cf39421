import AtmoProtocol
import NIOCore

/// A source's channel for the files of a repository it offers: a file that is not also a
/// standalone model (a config, a tokenizer, a shard) is in the provider's `repositories`
/// but not its `models`, so a source that does not list it by its `model_id` is taken to
/// offer it as the repository entry says (its size, SHA-256 and manifest). The bytes are
/// still checked against that SHA-256, so a wrong answer costs a retry, never a bad file.
struct RepositoryFileChannel: SourceChannel {
    let base: any SourceChannel
    /// The repository's files by their `model_id`, as single-file entries.
    let known: [String: ModelEntry]

    var address: String { base.address }
    var maxConcurrentPieces: Int { base.maxConcurrentPieces }

    func entry(modelID: String) async throws(TransferError) -> ModelEntry? {
        if let listed = try await base.entry(modelID: modelID) { return listed }
        return known[modelID]
    }

    func requestTransfer(_ request: ModelRequest) async throws(TransferError) -> ModelTransferStart? {
        try await base.requestTransfer(request)
    }

    func fetchPiece(
        of entry: ModelEntry, offset: Int64, length: Int64, received: @escaping @Sendable (Int64) -> Void
    ) async throws -> ByteBuffer {
        try await base.fetchPiece(of: entry, offset: offset, length: length, received: received)
    }

    func report(_ outcome: TransferReport, timeout: TimeAmount?) async {
        await base.report(outcome, timeout: timeout)
    }

    func availability(sha256: String) async throws(TransferError) -> PieceAvailability? {
        try await base.availability(sha256: sha256)
    }

    func manifest(for entry: ModelEntry) async throws(TransferError) -> PieceManifest? {
        try await base.manifest(for: entry)
    }
}

extension PullEngine {
    /// This engine, its sources taken to offer `files` (the files of a repository they
    /// list) even where they do not list them as models (`RepositoryFileChannel`).
    func offering(_ files: [ModelEntry]) -> PullEngine {
        let original = self
        let known = Dictionary(files.map { ($0.modelID, $0) }, uniquingKeysWith: { first, _ in first })
        var engine = PullEngine(
            http: http, database: database, configuration: configuration, logger: logger, blockingIO: blockingIO,
            channelFactory: { source in RepositoryFileChannel(base: original.channel(to: source), known: known) },
            partialOffers: partialOffers)
        engine.storage = storage
        return engine
    }
}
