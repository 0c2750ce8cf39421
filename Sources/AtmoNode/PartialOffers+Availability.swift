import AtmoProtocol
import AtmoStore
import AtmoTransfer

extension PartialOffers {
    /// What `/have` answers, over HTTP and relays alike: every piece of an installed file
    /// with a manifest (`complete`), else the verified pieces of a file being pulled; nil
    /// when this node holds none of it.
    func availability(sha256: String, installedIn inventory: Inventory) -> PieceAvailability? {
        if let entry = inventory.entries.first(where: { $0.sha256 == sha256 }), let pieceSize = entry.pieceSize {
            let count = PieceManifest.pieceCount(fileSize: entry.sizeBytes, pieceSize: pieceSize)
            return PieceAvailability(sha256: sha256, pieceSize: pieceSize, pieceCount: count, complete: true, have: [])
        }
        return offer(sha256: sha256)?.availability
    }
}
