import AtmoProtocol
import Foundation

/// The sidecar `{model_id}.json` written next to every pulled model.
public struct InstalledModel: Sendable, Hashable, Codable {
    public var modelID: String
    public var name: String
    public var type: String
    public var format: String
    public var sizeBytes: Int64
    public var sha256: String
    public var version: String
    public var source: String?
    public var sourceRef: String?
    public var downloadedFrom: String
    /// ISO 8601.
    public var downloadedAt: String
    /// The model file's name inside the store folder.
    public var fileName: String?
    /// `device:inode` of the model file as installed: how a crashed install tells its own file
    /// in place from another version's file of the same size (`finishInterruptedInstalls`).
    public var fileIdentity: String? = nil

    enum CodingKeys: String, CodingKey {
        case modelID = "model_id", name, type, format, sizeBytes = "size_bytes", sha256, version, source
        case sourceRef = "source_ref", downloadedFrom = "downloaded_from", downloadedAt = "downloaded_at"
        case fileName = "file_name", fileIdentity = "file_identity"
    }
}

/// A folder of pulled models: `{model_id}.{format}` plus `{model_id}.json`, and the
/// partial downloads under `.atmo-partial/` (same filesystem, so install is a rename).
public struct LocalModelStore: Sendable {
    public let directory: String
    /// Whether installing another version of an id keeps the replaced one for
    /// `rollBack(modelID:)` (LocalModelStore+Previous; the node's store does).
    public var keepsPreviousVersions = false

    public init(directory: String) {
        self.directory = directory
    }

    public var partialDirectory: String { directory + "/.atmo-partial" }

    public func modelPath(for entry: ModelEntry) -> String { directory + "/" + entry.fileName }
    public func sidecarPath(modelID: String) -> String { directory + "/" + modelID + ".json" }
    public func partialPath(sha256: String) -> String { partialDirectory + "/" + sha256 + ".part" }
    public func lockPath(sha256: String) -> String { partialDirectory + "/" + sha256 + ".lock" }
    /// The sidecar of an install under way, written (and fsynced) before the model moves.
    public func stagedSidecarPath(sha256: String) -> String { partialDirectory + "/" + sha256 + ".install.json" }
    func installLockPath(modelID: String) -> String { partialDirectory + "/" + modelID + ".install.lock" }

    /// Creates the folders; fails with a clear error when they cannot be written.
    public func prepare() throws(StoreError) {
        try FileIO.makeDirectory(directory)
        try FileIO.makeDirectory(partialDirectory)
        guard access(directory, W_OK) == 0 else {
            throw StoreError.posix(errno, "write to", path: directory)
        }
    }

    /// Refuses a model whose file name would overwrite a sidecar (its own or another
    /// model's), or whose sidecar would overwrite another model's file: `{id}.json` is the
    /// sidecar of `{id}`, so a model file named that way cannot live in the same folder.
    public func checkNoNameClash(_ entry: ModelEntry) throws(StoreError) {
        let fileName = entry.fileName
        let sidecarName = entry.modelID + ".json"
        if fileName == sidecarName {
            throw StoreError(.conflict, "\(entry.modelID)'s file name \(fileName) is the name of its own metadata file; pull it with --to into a folder of its own")
        }
        if fileName.hasSuffix(".json"), let other = installed(modelID: String(fileName.dropLast(".json".count))), other.modelID != entry.modelID {
            throw StoreError(.conflict, "\(fileName) would overwrite the metadata of the installed model \(other.modelID); pull it with --to DIR")
        }
        if let owner = installed().first(where: { $0.modelID != entry.modelID && filePath(of: $0) == directory + "/" + sidecarName }) {
            throw StoreError(.conflict, "\(entry.modelID)'s metadata file would overwrite the installed model \(owner.modelID); pull it with --to DIR")
        }
    }

    /// Every model in the store with a readable sidecar, sorted by id.
    public func installed() -> [InstalledModel] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") }.compactMap { name in
            let id = String(name.dropLast(".json".count))
            return installed(modelID: id)
        }.sorted { $0.modelID < $1.modelID }
    }

    public func installed(modelID: String) -> InstalledModel? {
        guard Validation.isValidModelID(modelID),
            let data = FileManager.default.contents(atPath: sidecarPath(modelID: modelID)),
            let model = try? JSONDecoder().decode(InstalledModel.self, from: data), model.modelID == modelID
        else { return nil }
        return model
    }

    /// The path of an installed model's file.
    public func filePath(of model: InstalledModel) -> String {
        let fallback = ModelEntry(
            modelID: model.modelID, name: model.name, type: model.type, format: model.format, sizeBytes: model.sizeBytes,
            sha256: model.sha256
        ).fileName
        guard let name = model.fileName, !name.isEmpty, !name.contains("/"), name != "..", name != "." else {
            return directory + "/" + fallback
        }
        return directory + "/" + name
    }

    /// Removes a model and its sidecar. Throws `notFound` when it is not installed.
    public func remove(modelID: String) throws(StoreError) {
        guard let model = installed(modelID: modelID) else {
            throw StoreError(.notFound, "\(modelID) is not installed in \(directory) (see `atmo ls`)")
        }
        let file = filePath(of: model)
        if unlink(file) != 0 && errno != ENOENT { throw StoreError.posix(errno, "remove", path: file) }
        let sidecar = sidecarPath(modelID: modelID)
        if unlink(sidecar) != 0 && errno != ENOENT { throw StoreError.posix(errno, "remove", path: sidecar) }
        try FileIO.fsyncDirectory(directory)
    }
}
