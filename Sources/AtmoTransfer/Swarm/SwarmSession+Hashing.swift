import AtmoProtocol
import AtmoStore
import Crypto
import Foundation
import NIOCore

extension SwarmSession {
    /// Checks the pieces an earlier run left on disk that were not verified against this
    /// manifest (a run without one, or with other pieces): each is read back and hashed;
    /// those that match are held, the others fetched again.
    func verifyResumed() async throws {
        let schedule = coordinator.schedule
        let toCheck = (0..<manifest.pieceCount).filter { resumedPieces[$0] && schedule.states[$0] == .missing }
        guard !toCheck.isEmpty else { return }
        report(.verifying, bytes: 0)
        let (manifest, partial) = (self.manifest, self.partial)
        let good = try await engine.blockingIO.run { cancellation -> [Int] in
            var good: [Int] = []
            for piece in toCheck {
                if cancellation.isCancelled { throw CancellationError() }
                let (offset, length) = manifest.range(of: piece)
                var hasher = SHA256()
                try FileHasher.update(&hasher, path: partial.path, from: offset, length: length, isCancelled: { cancellation.isCancelled })
                if Array(hasher.finalize()) == Array(manifest.digest(of: piece)) { good.append(piece) }
            }
            return good
        }
        coordinator.markHeld(good)
        logger.info("verified the pieces of an earlier run", metadata: ["kept": "\(good.count)", "checked": "\(toCheck.count)"])
    }

    /// Feeds pieces into the whole-file SHA-256 in file order (from memory when a worker
    /// just verified them, else read back from the partial). Returns the hex digest.
    func hashLoop() async throws -> String? {
        var hasher = SHA256()
        while let (piece, buffer) = try await coordinator.nextHashWork() {
            if let buffer {
                buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            } else {
                let (offset, length) = manifest.range(of: piece)
                var done: Int64 = 0
                while done < length {
                    let count = Int(min(Int64(PullSession.readBackSlice), length - done))
                    let slice = try await partial.readBack(offset: offset + done, count: count)
                    slice.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                    done += Int64(count)
                }
            }
            coordinator.hashed(piece)
        }
        return hasher.finalize().hexString
    }
}
