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
/// bytes, that resume would complete a file whose first N bytes were never checked. So a
/// download leaves the marker file `{folder}/{blob id}` before its first byte is written,
/// and the marker goes once that download is verified (unless an earlier download left it:
/// its clients still hold its bytes); a marker left (a failed download, a node killed
/// mid-download) taints the blob, and a `Range` request for a tainted blob is
/// answered from byte 0 with 200, which `huggingface_hub` takes as "start over".
///
/// Bounded without starving anyone: one marker per blob however often it fails, markers
/// older than `expiry` are dropped, and past `limit` markers a download still streams but
/// leaves the marker `overflow` instead, which taints every blob (ranges answered whole)
/// until it expires. Blocking calls; run them on the node's file threads.
struct HubUpstreamTaint: Sendable {
    let folder: String
    var limit = 1024
    /// How long a client may come back with a resume that needs the marker.
    var expiry: TimeInterval = 24 * 3600

    static let overflowName = "overflow"

    /// What `begin` left.
    struct Marker: Sendable, Equatable {
        /// The download may hand out unverified bytes (a marker covers them).
        var streams: Bool
        /// The download's verification removes the marker (it is this download's own).
        var removeOnVerify: Bool
    }

    /// Leaves the marker of a download of `blobID`; `streams` false when the folder cannot
    /// be written (the download then streams nothing unverified).
    func begin(blobID: String) -> Marker {
        let none = Marker(streams: false, removeOnVerify: false)
        guard (try? FileIO.makeDirectory(folder)) != nil else { return none }
        var name = blobID
        let own = !exists(blobID)
        if own {
            var names = markers()
            if names.count >= limit {
                prune()
                names = markers()
            }
            if names.count >= limit { name = Self.overflowName }
        }
        // Rewritten even when present: its time is the latest download's.
        let fd = open(folder + "/" + name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return none }
        let synced = fsync(fd) == 0
        FileIO.close(fd)
        guard synced, (try? FileIO.fsyncDirectory(folder)) != nil else { return none }
        return Marker(streams: true, removeOnVerify: own && name == blobID)
    }

    /// Removes the marker of a download that was verified (`Marker.removeOnVerify`).
    func end(blobID: String) {
        unlink(folder + "/" + blobID)
    }

    /// Whether `blobID` is tainted: its marker, or an `overflow` marker, is left (and not
    /// expired); so is a marker `{blob id}.{attempt}` that an older node left.
    func isTainted(blobID: String) -> Bool {
        if fresh(blobID) || fresh(Self.overflowName) { return true }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.contains { $0.hasPrefix(blobID + ".") && fresh($0) }
    }

    /// Drops the markers older than `expiry` (the folder's files of another shape too).
    func prune() {
        let now = Date().timeIntervalSince1970
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            guard let time = modified(name), now - time < expiry else {
                unlink(folder + "/" + name)
                continue
            }
        }
    }

    private func markers() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0 != Self.overflowName }
    }

    private func exists(_ name: String) -> Bool {
        var info = stat()
        return lstat(folder + "/" + name, &info) == 0
    }

    private func fresh(_ name: String) -> Bool {
        guard let time = modified(name) else { return false }
        return Date().timeIntervalSince1970 - time < expiry
    }

    private func modified(_ name: String) -> TimeInterval? {
        var info = stat()
        guard lstat(folder + "/" + name, &info) == 0 else { return nil }
        #if canImport(Darwin)
            return TimeInterval(info.st_mtimespec.tv_sec)
        #else
            return TimeInterval(info.st_mtim.tv_sec)
        #endif
    }
}
