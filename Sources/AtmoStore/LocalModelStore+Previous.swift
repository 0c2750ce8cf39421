import AtmoProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Previous versions, kept for `atmo rollback`.
///
/// When a store that `keepsPreviousVersions` (the node's) installs another version of an
/// id it holds, the version it replaces moves to `.atmo-previous/`: the same layout, a file
/// and its `{model_id}.json`, at most one version per id. The move is a hard link made under
/// the id's install lock before the new file takes the name, so it costs no copy and no
/// space while both names exist. The scanner never looks into the folder (the node does not
/// offer a previous version); the storage limit counts it as a pulled model that may be
/// evicted like any other, the mesh's last copy or not (`StoredModel.offered` false: no
/// node can be pulling it from here). `rollBack(modelID:)` swaps the two versions.
extension LocalModelStore {
    /// Where previous versions are kept.
    public var previousDirectory: String { directory + "/.atmo-previous" }

    /// The previous versions as a store of their own.
    public var previousVersions: LocalModelStore { LocalModelStore(directory: previousDirectory) }

    /// This store, keeping the version each install replaces.
    public func keepingPreviousVersions() -> LocalModelStore {
        var store = self
        store.keepsPreviousVersions = true
        return store
    }

    /// The previous version of `modelID`, if one is kept and its file is there.
    public func previousVersion(of modelID: String) -> InstalledModel? {
        let previous = previousVersions
        guard let model = previous.installed(modelID: modelID), (try? FileIO.stat(previous.filePath(of: model))) != nil else { return nil }
        return model
    }

    /// Keeps the installed version of `entry`'s id before `entry` replaces it (see above).
    /// Returns the replaced file's path when the new version goes under another name (the
    /// caller removes it once the new sidecar is in place), nil otherwise. Best effort: a
    /// file system without hard links keeps nothing. Call under the id's install lock.
    func keepPreviousVersion(replacedBy entry: ModelEntry) -> String? {
        guard keepsPreviousVersions, let current = installed(modelID: entry.modelID),
            current.sha256.lowercased() != entry.sha256.lowercased()
        else { return nil }
        let currentPath = filePath(of: current)
        guard let file = try? FileIO.stat(currentPath), file.size == current.sizeBytes else { return nil }
        let previous = previousVersions
        do throws(StoreError) {
            try FileIO.makeDirectory(previousDirectory)
            try? previous.remove(modelID: entry.modelID)
            let kept = previous.filePath(of: current)
            unlink(kept)
            guard link(currentPath, kept) == 0 else { return nil }
            try previous.writeSidecar(current)
            try FileIO.fsyncDirectory(previousDirectory)
        } catch {
            return nil
        }
        return currentPath == modelPath(for: entry) ? nil : currentPath
    }

    /// Puts the previous version of `modelID` back in place and keeps the version it
    /// replaces as the previous one (a second rollback undoes the first). Throws `notFound`
    /// when no previous version is kept. Blocking.
    @discardableResult
    public func rollBack(modelID: String) throws(StoreError) -> (restored: InstalledModel, replaced: InstalledModel?) {
        try withInstallLock(modelID: modelID) {
            () throws(StoreError) -> (restored: InstalledModel, replaced: InstalledModel?) in
            guard let previous = previousVersion(of: modelID) else {
                throw StoreError(.notFound, "no previous version of \(modelID) is kept (see `atmo follows`)")
            }
            let kept = previousVersions
            let current = installed(modelID: modelID)
            let currentPath = current.map(filePath(of:))
            // The current version, linked aside before its name is taken.
            let swap = previousDirectory + "/.rollback-" + modelID
            unlink(swap)
            if let currentPath, link(currentPath, swap) != 0 {
                throw StoreError.posix(errno, "keep the current version of \(modelID) at", path: swap)
            }
            let destination = filePath(of: previous)
            var restored = previous
            do throws(StoreError) {
                try FileIO.rename(kept.filePath(of: previous), destination)
                restored.fileIdentity = Self.identity(of: try FileIO.stat(destination))
                try writeSidecar(restored)
            } catch {
                unlink(swap)
                throw error
            }
            if let currentPath, currentPath != destination { unlink(currentPath) }
            try? kept.remove(modelID: modelID)
            if let current {
                try FileIO.rename(swap, kept.filePath(of: current))
                try kept.writeSidecar(current)
            }
            try FileIO.fsyncDirectory(directory)
            try FileIO.fsyncDirectory(previousDirectory)
            return (restored, current)
        }
    }

    /// Removes the previous version `sha256` of `modelID` (eviction); false when it is not
    /// the one kept. Call under the id's install lock.
    func evictPreviousVersion(modelID: String, sha256: String) throws(StoreError) -> Bool {
        guard let previous = previousVersions.installed(modelID: modelID), previous.sha256.lowercased() == sha256.lowercased() else {
            return false
        }
        try previousVersions.remove(modelID: modelID)
        return true
    }

    /// The previous versions as the storage planner sees them: pulled models, never pinned
    /// (a pin keeps the version in use) and not offered (so evictable even when no other
    /// node holds them). `uses` by SHA-256.
    func previousStoredModels(uses: [String: ModelUsage]) -> [StoredModel] {
        let previous = previousVersions
        return previous.installed().compactMap { model in
            guard let stat = try? FileIO.stat(previous.filePath(of: model)) else { return nil }
            let sha = model.sha256.lowercased()
            let lastUsed = uses[sha]?.lastUsedAt ?? ISO8601DateFormatter().date(from: model.downloadedAt)?.timeIntervalSince1970 ?? 0
            return StoredModel(modelID: model.modelID, sha256: sha, sizeBytes: stat.size, lastUsedAt: lastUsed, offered: false)
        }
    }

    /// Writes `model`'s sidecar into this store, durably and in one step.
    func writeSidecar(_ model: InstalledModel) throws(StoreError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(model) } catch { throw StoreError(.io, "cannot encode metadata: \(error)") }
        try FileIO.writeAtomically(data, to: sidecarPath(modelID: model.modelID))
    }
}
