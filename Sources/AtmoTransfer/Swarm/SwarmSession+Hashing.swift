import AtmoProtocol
import AtmoStore
import Crypto
import Foundation
import NIOCore

extension SwarmSession {
    /// Checks the pieces an earlier run left on disk that were not verified against this
    /// manifest (a run without one, with other pieces, or one that deferred its checks):
    /// each is read back and hashed; those that match are held, the others fetched again.
    func verifyResumed() async throws {
        let schedule = coordinator.schedule
        let toCheck = (0..<manifest.pieceCount).filter { resumedPieces[$0] && schedule.states[$0] == .missing }
        guard !toCheck.isEmpty else { return }
        // Progress counts the pieces found good, a batch at a time: it never goes back.
        let batch = max(1, Int(Self.verifyBatchBytes / manifest.pieceSize))
        var kept = 0
        for start in stride(from: 0, to: toCheck.count, by: batch) {
            let (good, _) = try await checkOnDisk(Array(toCheck[start..<min(start + batch, toCheck.count)]))
            coordinator.markHeld(good)
            kept += good.count
            report(.verifying, bytes: coordinator.schedule.heldBytes)
        }
        logger.info("verified the pieces of an earlier run", metadata: ["kept": "\(kept)", "checked": "\(toCheck.count)"])
    }

    /// Bytes of an earlier run checked between two progress reports.
    static let verifyBatchBytes: Int64 = 256 * 1024 * 1024

    /// Reads `pieces` back from the partial and checks each against the manifest.
    func checkOnDisk(_ pieces: [Int]) async throws -> (good: [Int], bad: [Int]) {
        let (manifest, partial) = (self.manifest, self.partial)
        return try await engine.blockingIO.run { cancellation -> ([Int], [Int]) in
            var (good, bad): ([Int], [Int]) = ([], [])
            for piece in pieces {
                if cancellation.isCancelled { throw CancellationError() }
                let (offset, length) = manifest.range(of: piece)
                var hasher = SHA256()
                try FileHasher.updateMapped(&hasher, fd: partial.fd, path: partial.path, from: offset, length: length)
                if Array(hasher.finalize()) == Array(manifest.digest(of: piece)) { good.append(piece) } else { bad.append(piece) }
            }
            return (good, bad)
        }
    }

    /// Once pieces are checked (another peer joined or asked for them), checks on disk the
    /// pieces that were written unchecked before, so they can be offered; a bad one goes back
    /// to missing and the whole-file hash starts over. When none is left unchecked, the
    /// resume record trusts the pieces again. Runs until the transfer ends.
    func checkLoop() async throws {
        while !Task.isCancelled {
            let pieces = try await coordinator.nextUncheckedPieces()
            let (good, bad) = try await checkOnDisk(pieces)
            engine.counters.pieces(verified: good.count, rejected: bad.count)
            for piece in coordinator.checkedOnDisk(good: good, bad: bad) {
                engine.partialOffers?.pieceVerified(sha256: entry.sha256, index: piece)
            }
            if !bad.isEmpty {
                logger.warning("pieces written before checks began fail the manifest; fetching them again", metadata: ["pieces": "\(bad)"])
            }
            if coordinator.allHeldChecked {
                let held = coordinator.heldPieces
                try await engine.blocking { [self] in try partial.saveRecord(written: held, durable: nil, source: sourceSummary, checked: true) }
            }
        }
    }

    /// Feeds pieces into the whole-file SHA-256 in file order (from memory when a worker
    /// just fetched them, else from the partial's pages), starting over when pieces under
    /// it were replaced. Returns the hex digest.
    func hashLoop() async throws -> String? {
        var hasher = SHA256()
        var epoch: Int? = nil
        while let work = try await coordinator.nextHashWork() {
            if work.epoch != epoch {
                hasher = SHA256()
                epoch = work.epoch
            }
            if let buffer = work.buffer {
                for chunk in buffer { chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) } }
            } else {
                let (offset, length) = manifest.range(of: work.piece)
                hasher = try await partial.hashBack(hasher, offset: offset, length: length)
            }
            coordinator.hashed(work.piece, epoch: work.epoch)
        }
        return hasher.finalize().hexString
    }
}
