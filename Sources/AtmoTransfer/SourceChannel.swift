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
}

/// How a transfer ended, for the source.
public enum TransferReport: Sendable {
    case complete(ModelTransferComplete)
    case cancel(ModelTransferCancel)
}
