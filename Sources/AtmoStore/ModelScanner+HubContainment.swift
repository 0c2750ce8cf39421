// Which entries of a Hugging Face snapshot may be offered at all (hostile review F12).
//
// A snapshot file is a symlink into its repository's own `blobs/` folder, or (a snapshot
// copied as regular files) a regular file of the snapshot folder itself. An entry that
// resolves anywhere else (a symlink to `/etc/passwd`, to another repository's blob, a file
// reached through a symlinked folder) is refused: offered neither as a model nor as a file
// of its repository, and its repository is not offered either (the snapshot is not the
// commit's tree). Paths are compared after `realpath`, so a symlinked cache root, repository
// folder or `blobs/` folder is fine; a snapshot folder that is itself a symlink leaving its
// repository keeps only its blob links. Anyone who can write a shared cache could otherwise
// make the node publish any file its user can read.

import Foundation

/// A scan's files and the entries it refused.
package struct ScanReport: Sendable, Equatable {
    /// The offered files, sorted by id (`ModelScanner.scan()`).
    package var files: [ScannedFile]
    /// The refused Hugging Face snapshot entries, by the path they were found at.
    package var refused: [RefusedEntry]
}

/// A snapshot entry resolving outside its repository's `blobs/` folder.
package struct RefusedEntry: Sendable, Equatable {
    /// Where it was found (not resolved).
    package var path: String
    /// What it resolves to.
    package var target: String
    /// The model id of the repository whose snapshot holds it; that repository is not offered.
    package var repositoryModelID: String
}

extension ModelScanner {
    /// The real paths a snapshot's entries may resolve to.
    struct SnapshotContainment {
        /// The repository's real `blobs/` folder with a trailing `/`, nil when missing.
        var blobsPrefix: String?
        /// The snapshot folder's real path when it lies in the repository's real
        /// `snapshots/` folder under its own name; nil otherwise (copies are then refused).
        var snapshotFolder: String?

        init(repoPath: String, commit: String, snapshotPath: String) {
            blobsPrefix = FileWalker.realPath(repoPath + "/blobs").map { $0 + "/" }
            let realSnapshot = FileWalker.realPath(snapshotPath)
            let expected = FileWalker.realPath(repoPath).map { $0 + "/snapshots/" + commit }
            snapshotFolder = realSnapshot != nil && realSnapshot == expected ? realSnapshot : nil
        }

        /// Whether an entry may be offered: it resolves to a blob of this repository, or it
        /// is a regular file of the snapshot folder itself with no symlink on its way.
        func admits(_ found: FoundFile) -> Bool {
            if ModelScanner.huggingFaceBlobID(resolvedPath: found.resolvedPath, blobsPrefix: blobsPrefix) != nil {
                return true
            }
            guard let snapshotFolder else { return false }
            return found.resolvedPath == snapshotFolder + "/" + found.relativePath
        }
    }
}
