import AtmoProtocol
import Foundation

/// Piece manifests of the inventory's files: the ones hashed before manifests existed get
/// theirs after the scan's new files, and the pieces route reads them back from the
/// database (the items keep only the reference, a few manifests are cached).
extension Inventory {
    /// The last few manifests served, so peers fetching the manifest of a popular file do
    /// not each cost a database read. Keyed by file SHA-256; at most `capacity`.
    struct RecentManifests {
        static let capacity = 8
        private var order: [String] = []
        private var manifests: [String: PieceManifest] = [:]

        func manifest(sha256: String, reference: ManifestReference) -> PieceManifest? {
            guard let manifest = manifests[sha256], manifest.pieceSize == reference.pieceSize else { return nil }
            return manifest
        }

        mutating func insert(_ manifest: PieceManifest, sha256: String) {
            if manifests.updateValue(manifest, forKey: sha256) == nil { order.append(sha256) }
            while order.count > Self.capacity { manifests[order.removeFirst()] = nil }
        }
    }

    /// The manifest of a file this node offers whole, or nil when no offered file has that
    /// SHA-256 or its manifest is not known yet. Reads the database on `io`'s pool unless
    /// the manifest was served recently; a stored manifest that differs from what the entry
    /// advertises is never returned.
    package func manifest(sha256: String, using io: BlockingIO = .shared) async throws -> PieceManifest? {
        let key = sha256.lowercased()
        let reference = state.withLock { state in
            state.items.values.lazy.compactMap { $0.entry.sha256 == key ? $0.entry.manifestReference : nil }.first
        }
        guard let reference else { return nil }
        let advertised = ManifestReference(pieceSize: reference.pieceSize, sha256: reference.sha256)
        if let cached = recentManifests.withLock({ $0.manifest(sha256: key, reference: advertised) }) { return cached }
        let database = self.database
        guard let manifest = try await io.run({ try database.manifest(sha256: key) }), ManifestReference(manifest) == advertised
        else { return nil }
        recentManifests.withLock { $0.insert(manifest, sha256: key) }
        return manifest
    }

    /// Computes the manifests of files whose hash came from the cache without one (hashed by
    /// a version before manifests), reading each file once more. `known` maps file SHA-256s
    /// to the manifests stored so far: a second copy of a file costs nothing. A failure
    /// leaves the file advertised without a manifest.
    func addManifests(to files: [ScannedFile], known: inout [String: ManifestReference], using io: BlockingIO) async throws {
        for file in files {
            try Task.checkCancellation()
            guard let current = item(modelID: file.modelID), current.path == file.path, current.stat == file.stat else { continue }
            let expected = current.entry.sha256
            if let reference = known[expected] {
                attach(reference, to: file, sha256: expected)
                continue
            }
            do {
                let (sha256, reference) = try await hash(file, using: io)
                known[sha256] = reference
                guard sha256 != expected else {
                    attach(reference, to: file, sha256: sha256)
                    continue
                }
                // The bytes changed while size, time, inode and device did not: the new
                // hash is the truth (and is remembered); a blob must still match its name.
                if let name = file.knownSHA256, name != sha256 {
                    logger.error(
                        "blob content does not match its name; withdrawing it",
                        metadata: ["path": "\(file.path)", "expected": "\(name)", "actual": "\(sha256)"])
                    update { $0.items[file.modelID] = nil }
                } else {
                    logger.warning(
                        "model file changed without its size or time changing; offering its new hash",
                        metadata: ["path": "\(file.path)", "was": "\(expected)", "now": "\(sha256)"])
                    let item = file.item(sha256: sha256, manifest: reference)
                    update { $0.items[file.modelID] = item }
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.warning(
                    "cannot compute the piece manifest; offering the file without it",
                    metadata: ["path": "\(file.path)", "error": "\(error)"])
            }
        }
    }

    /// Names `reference` in the entry of `file`, if it still advertises content `sha256`.
    private func attach(_ reference: ManifestReference, to file: ScannedFile, sha256: String) {
        update { state in
            guard var item = state.items[file.modelID], item.path == file.path, item.entry.sha256 == sha256 else { return }
            item.entry.pieceSize = reference.pieceSize
            item.entry.piecesSHA256 = reference.sha256
            state.items[file.modelID] = item
        }
    }
}
