import AtmoStore
import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension HubUpstream {
    /// Runs one attempt: the blob from the upstream into a scratch file, hashed as it arrives
    /// (SHA-256 and git blob id), written in pieces readers see at once; checked against the
    /// upstream's hash when the last byte is in (`verified` releases the readers' held-back
    /// tail), then installed as a blob and linked into the snapshot. Any failure (an error
    /// answer, a body that stops past the client's read timeout, a wrong length or hash)
    /// is `failed`, which cuts every reader.
    func download(_ attempt: HubUpstreamAttempt, of revision: HubUpstreamRevision) async {
        let file = attempt.file
        let id = String(UUID().uuidString.prefix(8)).lowercased()
        let scratch = scratchDirectory + "/" + file.blobID + "." + id + ".part"
        var opened = false
        do {
            // Installed by an attempt that ended just before this one started.
            if let cached = try await linkCachedBlob(file, of: revision) {
                attempt.finish(.verified(sha256: cached.sha256))
                return
            }
            let taint = self.taint
            let directory = scratchDirectory
            let (fd, marker) = try await io.run { () throws -> (Int32, HubUpstreamTaint.Marker) in
                try FileIO.makeDirectory(directory)
                let fd = try FileIO.open(scratch, flags: O_RDWR | O_CREAT | O_TRUNC, mode: 0o644)
                return (fd, taint.begin(blobID: file.blobID))
            }
            opened = true
            attempt.setFile(fd, streamsUnverified: marker.streams)
            let digests = try await receive(file, of: revision, into: fd, scratch: scratch, attempt: attempt)
            let matches = file.isLFS ? digests.sha256 == file.blobID : digests.gitBlobID == file.blobID
            guard digests.sizeBytes == file.sizeBytes, matches else {
                throw HubUpstreamError(
                    "\(file.path) from the upstream is not its blob \(file.blobID)"
                        + " (sha256 \(digests.sha256), git blob \(digests.gitBlobID))")
            }
            attempt.finish(.verified(sha256: digests.sha256))
            let (cache, repoID, commit) = (self.cache, revision.repoID, revision.commit)
            try await io.run {
                if marker.removeOnVerify { taint.end(blobID: file.blobID) }
                try FileIO.fsync(fd, path: scratch)
                let checked = HubCacheFile(path: file.path, sizeBytes: file.sizeBytes, sha256: digests.sha256, blobID: file.blobID)
                try cache.installBlob(checked, repositoryID: repoID, from: scratch, sha256Verified: true)
                try cache.linkSnapshotFile(checked, repositoryID: repoID, revision: commit)
            }
        } catch {
            attempt.finish(.failed("\(error)"), refusal: error as? HubUpstreamRefusal)
            logger.warning(
                "upstream download failed", metadata: ["repo": "\(revision.repoID)", "path": "\(file.path)", "error": "\(error)"])
        }
        attempt.closeFile()
        if opened { unlink(scratch) }
    }

    /// The body into `fd`, hashed in order, each piece written (and shown to readers) as it
    /// arrives: a piece held back for company could wait forever on an upstream that pauses.
    private func receive(
        _ file: HubUpstreamClient.File, of revision: HubUpstreamRevision, into fd: Int32, scratch: String, attempt: HubUpstreamAttempt
    ) async throws -> HubFileDigests {
        var digests = HubFileDigests.Accumulator(sizeBytes: file.sizeBytes)
        var written: Int64 = 0
        let io = self.io
        try await client.download(repoID: revision.repoID, commit: revision.commit, file: file, started: { attempt.markStarted() }) {
            piece in
            piece.withUnsafeReadableBytes { digests.update($0) }
            let offset = written
            try await io.run {
                try piece.withUnsafeReadableBytes { raw throws(StoreError) in try FileIO.pwrite(fd, raw, offset: offset, path: scratch) }
            }
            written += Int64(piece.readableBytes)
            attempt.advance(to: written)
        }
        return digests.finish()
    }
}
