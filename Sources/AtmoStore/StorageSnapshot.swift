import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The storage limit of a node's pulled models (`--max-storage`, `max_storage`).
public struct StorageConfiguration: Sendable, Hashable {
    /// Bytes the pulled models and partial downloads may take; nil: no limit (the disk's
    /// free space is still checked, and nothing is evicted).
    public var limitBytes: Int64?
    /// Evict even a model of which the mesh knows no other copy (`--evict-last-copies`).
    public var evictLastCopies = false

    public init(limitBytes: Int64? = nil, evictLastCopies: Bool = false) {
        self.limitBytes = limitBytes
        self.evictLastCopies = evictLastCopies
    }
}

/// What a store holds now, read from the disk and the state database: the planner's input
/// but for the pull's own numbers. Blocking: call it through `BlockingIO`.
public struct StorageSnapshot: Sendable {
    public var models: [StoredModel]
    /// Partial files by SHA-256, at their size (reserved in full when the pull began).
    public var partials: [String: Int64]
    /// Free bytes of the store's file system, for this user.
    public var diskFreeBytes: Int64

    /// Reads `store` with the uses in `database` and `usage` (not yet written), the pins,
    /// and `meshCopies` (other whole copies the mesh knows of, by SHA-256).
    public static func read(
        store: LocalModelStore, database: StateDatabase, usage: UsageTracker?, meshCopies: [String: Int]
    ) throws(StoreError) -> StorageSnapshot {
        let stored = try database.usage()
        let uses = usage?.merged(with: stored) ?? stored
        let pins = try database.pins()
        var models: [StoredModel] = []
        for installed in store.installed() {
            guard let stat = try? FileIO.stat(store.filePath(of: installed)) else { continue }
            let sha = installed.sha256.lowercased()
            // Never used since it was pulled before uses were recorded: its pull is its use.
            let lastUsed = uses[sha]?.lastUsedAt ?? ISO8601DateFormatter().date(from: installed.downloadedAt)?.timeIntervalSince1970 ?? 0
            models.append(
                StoredModel(
                    modelID: installed.modelID, sha256: sha, sizeBytes: stat.size, lastUsedAt: lastUsed,
                    pinned: pins.contains(installed.modelID), meshCopies: meshCopies[sha] ?? 0))
        }
        models += store.previousStoredModels(uses: uses)
        var partials: [String: Int64] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: store.partialDirectory)) ?? [] where name.hasSuffix(".part") {
            guard let stat = try? FileIO.stat(store.partialDirectory + "/" + name) else { continue }
            partials[String(name.dropLast(".part".count)).lowercased()] = stat.size
        }
        return StorageSnapshot(models: models, partials: partials, diskFreeBytes: try Self.freeBytes(at: store.directory))
    }

    /// Free bytes for this user on the file system of `path` (its nearest existing folder).
    public static func freeBytes(at path: String) throws(StoreError) -> Int64 {
        var folder = path
        while !FileManager.default.fileExists(atPath: folder), folder != "/", !folder.isEmpty {
            folder = (folder as NSString).deletingLastPathComponent
        }
        var info = statvfs()
        guard statvfs(folder.isEmpty ? "/" : folder, &info) == 0 else { throw StoreError.posix(errno, "statvfs", path: folder) }
        let bytes = Double(info.f_bavail) * Double(info.f_frsize)
        return bytes >= 9.2e18 ? .max : Int64(bytes)
    }
}

extension LocalModelStore {
    /// Removes the installed `modelID` if it is still the version `sha256` (an install of
    /// another version may have replaced it meanwhile: that one stays). Runs under the
    /// model's install lock. Returns whether it removed it.
    public func evict(modelID: String, sha256: String) throws(StoreError) -> Bool {
        try withInstallLock(modelID: modelID) { () throws(StoreError) -> Bool in
            guard let installed = installed(modelID: modelID), installed.sha256.lowercased() == sha256.lowercased() else {
                return try evictPreviousVersion(modelID: modelID, sha256: sha256)
            }
            try remove(modelID: modelID)
            return true
        }
    }
}
