import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

/// What a relayed `model_request` is served from: an installed file, or the verified pieces
/// of a file this node is still pulling. A range of a partial file that touches a piece not
/// held yet is refused with a `model_transfer_cancel` whose reason is `not_held`
/// (`CancelReason.notHeld`; a consumer maps it to `TransferError.Code.notHeld`).
extension RelayTransferProvider {
    enum Holding {
        case installed(InventoryItem)
        case partial(PartialOffers.Offer)

        var entry: ModelEntry {
            switch self {
            case .installed(let item): item.entry
            case .partial(let offer): offer.entry
            }
        }

        var source: ChunkSource {
            let entry = entry
            return ChunkSource(
                totalBytes: entry.sizeBytes, sha256: entry.sha256,
                metadata: .init(name: entry.name, type: entry.type, format: entry.format, classes: entry.classes))
        }

        /// `request` as the sender should read it: for a partial file, chunks no larger than
        /// a piece. Chunk and piece sizes are powers of two, so the sender's chunk-aligned
        /// range then touches exactly the pieces the asked bytes touch (a 1 MiB chunk over
        /// 64 KiB pieces would reach pieces the consumer did not ask for, maybe not held).
        func fitted(_ request: ModelRequest) -> ModelRequest {
            guard case .partial(let offer) = self else { return request }
            var fitted = request
            fitted.maxChunkBytes = min(request.maxChunkBytes ?? .max, offer.manifest.pieceSize)
            return fitted
        }
    }

    /// The file that answers `request`: the installed one, unless the request names a
    /// version this node holds only partially, or the inventory has none of that id
    /// (`PartialOffers.offerToServe`). Nil when this node has neither.
    func holding(for request: ModelRequest) -> Holding? {
        let item = inventory.item(modelID: request.modelID)
        if let offer = partialOffers.offerToServe(
            modelID: request.modelID, wanted: request.sha256, inventorySHA256: item?.entry.sha256)
        {
            return .partial(offer)
        }
        return item.map(Holding.installed)
    }

    /// Opens the file for the chunk range the sender will send (aligned to its chunks, so
    /// it may reach beyond the bytes asked for: every piece it touches must be held). Throws
    /// `PartialRefusal` for a partial file that does not hold the range.
    func open(_ holding: Holding, range: ChunkRange) async throws -> any ServedFile {
        switch holding {
        case .installed(let item):
            return try await fileReaders.runIfActive { try OpenModelFile(item) }
        case .partial(let offer):
            let offers = partialOffers
            return try await fileReaders.runIfActive {
                try OpenPartialFile(offers: offers, sha256: offer.entry.sha256, offset: range.startByte, length: range.byteCount)
            }
        }
    }
}
