import AtmoStore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which blobs some client may hold unverified bytes of. An upstream download hands its
/// bytes to clients before they are checked (all but the last one, see
/// `HubUpstreamAttempt`); a client whose download was cut keeps them in its
/// `blobs/{etag}.incomplete` and later resumes with `Range: bytes=N-`. Served from good
/// bytes, that resume would complete a file whose first N bytes were never checked. So each
/// attempt leaves a marker file `{folder}/{blob id}.{attempt}` before its first byte is
/// written and removes it only once that attempt is verified; a marker left (a failed
/// attempt, a node killed mid-download) taints the blob, and a `Range` request for a tainted
/// blob is answered from byte 0 with 200, which `huggingface_hub` takes as "start over".
///
/// At most `limit` markers: beyond that, an attempt streams nothing unverified (its readers
/// wait for the outcome). Blocking calls; run them on the node's file threads.
struct HubUpstreamTaint: Sendable {
    let folder: String
    var limit = 1024

    /// Leaves the marker of a new attempt: false (nothing left) when `limit` markers exist
    /// or the folder cannot be written.
    func begin(blobID: String, attempt: String) -> Bool {
        guard (try? FileIO.makeDirectory(folder)) != nil else { return false }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        guard names.count < limit else { return false }
        let fd = open(folder + "/" + blobID + "." + attempt, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        let synced = fsync(fd) == 0
        FileIO.close(fd)
        return synced && (try? FileIO.fsyncDirectory(folder)) != nil
    }

    /// Removes the marker of an attempt that was verified.
    func end(blobID: String, attempt: String) {
        unlink(folder + "/" + blobID + "." + attempt)
    }

    /// Whether some marker of `blobID` is left.
    func isTainted(blobID: String) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.contains { $0.hasPrefix(blobID + ".") }
    }
}
