import AtmoProtocol
import NIOCore

/// How a pull talks to one source: the HTTP API of a provider (`PeerClient`) or, for a
/// provider HTTP cannot reach, chunked transfers through a relay (the node supplies that
/// one through `PullEngine.channelFactory`). A pull's pieces, partial file, hash and resume
/// state do not depend on the channel, so a transfer begun over one may finish over another.
public protocol SourceChannel: Sendable {
    /// Shown in errors and progress: a base URL, or the relay route to a node.
    var address: String { get }
    /// The most pieces fetched through this channel at once (HTTP: parallel connections;
    /// a relay stream: one, in file order).
    var maxConcurrentPieces: Int { get }
    /// The source's entry for `modelID`; nil when it does not offer it.
    func entry(modelID: String) async throws(TransferError) -> ModelEntry?
    /// Announces a transfer (`model_request`); the source's `model_transfer_start`, or nil
    /// when the channel has no separate announcement.
    func requestTransfer(_ request: ModelRequest) async throws(TransferError) -> ModelTransferStart?
    /// The bytes `[offset, offset + length)` of `entry`, exactly; `received` hears the bytes
    /// so far while they arrive.
    func fetchPiece(
        of entry: ModelEntry, offset: Int64, length: Int64, received: @escaping @Sendable (Int64) -> Void
    ) async throws -> ByteBuffer
    /// Tells the source how the transfer ended (best effort, bounded by `timeout`).
    func report(_ outcome: TransferReport, timeout: TimeAmount?) async
    /// Which pieces of the file `sha256` the source holds, verified (HTTP: `GET
    /// /v1/pieces/{sha256}/have`; relay and direct WebSocket: a `piece_query`); nil when it
    /// holds none, or cannot say.
    func availability(sha256: String) async throws(TransferError) -> PieceAvailability?
    /// The piece manifest `entry` names, checked against the entry (one digest per piece,
    /// SHA-256 equal to `pieces_sha256`) before it is returned; nil when the source serves
    /// none. A manifest that does not check out is a `.protocolViolation` of the source.
    func manifest(for entry: ModelEntry) async throws(TransferError) -> PieceManifest?
    /// This channel with its transfers shaped as background ones (`true`: the node's `normal`
    /// and `low` downloads) or foreground ones by the bandwidth shaper. The engine sets it
    /// from `PullConfiguration.background` on every channel it opens.
    func shapedAsBackground(_ background: Bool) -> any SourceChannel
}

extension SourceChannel {
    /// A channel that cannot ask: the source takes part as a whole-file source only.
    public func availability(sha256: String) async throws(TransferError) -> PieceAvailability? { nil }
    /// A channel that cannot ask: another source must serve the manifest.
    public func manifest(for entry: ModelEntry) async throws(TransferError) -> PieceManifest? { nil }
    /// A channel the shaper does not see: unchanged.
    public func shapedAsBackground(_ background: Bool) -> any SourceChannel { self }
}

/// How a transfer ended, for the source.
public enum TransferReport: Sendable {
    case complete(ModelTransferComplete)
    case cancel(ModelTransferCancel)
}
