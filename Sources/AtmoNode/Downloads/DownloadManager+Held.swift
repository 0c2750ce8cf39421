import AtmoProtocol
import AtmoStore
import AtmoTransfer

/// What a queued download's partial already holds, for its status before a run reads it.
extension DownloadManager {
    /// `queuedStatus`, with `bytes_done` / `total_bytes` from the resume record of its pinned
    /// version when its partial is there at full size (a paused or interrupted download read
    /// back after a restart shows what it holds, not 0). Only pieces the record trusts now
    /// count: all written ones within the same boot, the fsynced ones after a reboot.
    func restoredStatus(_ queued: QueuedDownload) -> DownloadAPI.Status {
        var status = Self.queuedStatus(queued)
        guard let sha256 = queued.sha256, let record = try? database?.download(sha256: sha256) else { return status }
        guard let held = Self.heldBytes(record) else { return status }
        status.bytesDone = held
        status.totalBytes = record.entry.sizeBytes
        return status
    }

    /// What the partial of a model's download holds now (nil: a repository, no version
    /// pinned, or no usable partial).
    func heldBytes(of queued: QueuedDownload?) -> Int64? {
        guard let queued, queued.kind == DownloadAPI.Kind.model.rawValue, let sha256 = queued.sha256,
            let record = try? database?.download(sha256: sha256)
        else { return nil }
        return Self.heldBytes(record)
    }

    /// The bytes of the pieces `record` trusts now, when its partial has the artefact's
    /// size (nil: no usable partial; the run starts over).
    static func heldBytes(_ record: DownloadRecord) -> Int64? {
        let size = record.entry.sizeBytes
        guard size >= 0, record.pieceSize > 0, let stat = try? FileIO.stat(record.partialPath), stat.size == size else { return nil }
        let count = PieceManifest.pieceCount(fileSize: size, pieceSize: record.pieceSize)
        let pieces = Bitfield(count: count, bytes: record.trustedPieces(currentBootID: DownloadRecord.currentBootID))
        var held: Int64 = 0
        for index in 0..<count where pieces[index] {
            let start = Int64(index) * record.pieceSize
            held += min(record.pieceSize, size - start)
        }
        return held
    }
}
