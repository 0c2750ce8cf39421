// Installs a verified model file into LlamaFarm's models folder at its `LlamaFarmLayout`
// place: hard-linked from the node's store when the file system allows (the bytes exist
// once), else copied; always under a hidden temporary name, then renamed. Every folder on
// the way below the root must be a real folder (a symlink planted there is refused, so
// nothing is written outside the root). Next to the file goes `.atmo-model.json`, the pull's
// metadata (`model_id`, `name`, `type`, `format`, `size_bytes`, `sha256`, `version`,
// `source`, `source_ref`, `downloaded_from`, `downloaded_at`); hidden, so no scan offers it.

import AtmoProtocol
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `LlamaFarmInstaller.install` did.
public struct LlamaFarmInstall: Sendable, Hashable {
    /// The model file under the root.
    public var path: String
    public var layout: LlamaFarmLayout
    /// The same bytes were there already: nothing was written.
    public var alreadyInstalled: Bool
    /// Hard-linked from the source (false: copied, or already there).
    public var linked: Bool
}

/// Installs single-file models into a LlamaFarm models folder (`~/.llamafarm/models`).
public struct LlamaFarmInstaller: Sendable {
    /// LlamaFarm's models folder (absolute).
    public let root: String

    /// The metadata file written next to each installed model.
    public static let metadataFileName = ".atmo-model.json"

    public init(root: String) {
        self.root = root
    }

    /// Installs `source` (a file whose SHA-256 is `entry.sha256`: checked here unless
    /// `sha256Verified`) as `entry` at its LlamaFarm place. A different file already at that
    /// place is never replaced (`conflict`). Blocking.
    public func install(
        _ entry: ModelEntry, from source: String, sha256Verified: Bool, downloadedFrom: String? = nil, now: Date = Date()
    ) throws(StoreError) -> LlamaFarmInstall {
        let layout = LlamaFarmLayout(entry: entry)
        guard root.hasPrefix("/") else { throw StoreError(.conflict, "the LlamaFarm folder \(root) is not an absolute path") }
        if !sha256Verified {
            let digests = try HubFileDigests.compute(path: source)
            guard digests.sha256 == entry.sha256, digests.sizeBytes == entry.sizeBytes else {
                throw StoreError(.corrupt, "\(source) is not \(entry.modelID) (sha256 \(digests.sha256))")
            }
        }
        try FileIO.makeDirectory(root)
        var directory = root
        let folders = [layout.category, layout.folder] + layout.path.split(separator: "/").dropLast().map(String.init)
        for segment in folders {
            guard LlamaFarmLayout.isSafeSegment(segment) else {
                throw StoreError(.conflict, "unsafe folder name \(segment.debugDescription)")
            }
            directory += "/" + segment
            try HubCache.ensureRealDirectory(directory)
        }
        let target = root + "/" + layout.relativePath
        switch HubCache.kind(target) {
        case .missing, .symlink:
            break
        case .file(let size):
            if size == entry.sizeBytes, let digests = try? HubFileDigests.compute(path: target), digests.sha256 == entry.sha256 {
                try writeMetadata(entry, in: directory, downloadedFrom: downloadedFrom, now: now)
                return LlamaFarmInstall(path: target, layout: layout, alreadyInstalled: true, linked: false)
            }
            throw StoreError(.conflict, "\(target) holds another file; remove it to install \(entry.modelID) there")
        case .directory, .other:
            throw StoreError(.conflict, "\(target) is not a file, where \(entry.modelID) goes")
        }
        let how = try HubCache.place(source, at: target, size: entry.sizeBytes)
        try writeMetadata(entry, in: directory, downloadedFrom: downloadedFrom, now: now)
        return LlamaFarmInstall(path: target, layout: layout, alreadyInstalled: false, linked: how == .linked)
    }

    /// The model file of `entry` when it is at its place already, with its size and SHA-256
    /// (a pull then moves no byte); nil otherwise. Blocking (hashes the file).
    public func installedAlready(_ entry: ModelEntry) -> String? {
        let target = root + "/" + LlamaFarmLayout(entry: entry).relativePath
        guard case .file(let size) = HubCache.kind(target), size == entry.sizeBytes,
            let digests = try? HubFileDigests.compute(path: target), digests.sha256 == entry.sha256
        else { return nil }
        return target
    }

    /// Writes `.atmo-model.json` into `directory` (temporary name, then rename).
    func writeMetadata(_ entry: ModelEntry, in directory: String, downloadedFrom: String?, now: Date) throws(StoreError) {
        var object: [String: Any] = [
            "model_id": entry.modelID, "name": entry.name, "type": entry.type, "format": entry.format,
            "size_bytes": entry.sizeBytes, "sha256": entry.sha256, "version": entry.version, "source": entry.source,
            "source_ref": entry.sourceRef, "downloaded_at": ISO8601DateFormatter().string(from: now),
        ]
        object["downloaded_from"] = downloadedFrom
        let data: Data
        do {
            data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        } catch {
            throw StoreError(.io, "cannot encode the metadata of \(entry.modelID): \(error)", underlying: error)
        }
        let path = directory + "/" + Self.metadataFileName
        if HubCache.kind(path) == .directory { throw StoreError(.conflict, "\(path) is a folder") }
        try FileIO.writeAtomically(data, to: path)
    }
}
