import AtmoProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Installing a verified download: all or nothing.
///
/// A model is installed when its file and its sidecar `{model_id}.json` are both in the
/// store folder; a file that no sidecar names is not a model of the store (the scanner
/// ignores it). The steps, each one safe to crash after:
///
/// 1. the partial is fsynced, and the sidecar is written and fsynced under
///    `.atmo-partial/{sha256}.install.json` (the staged sidecar). Only this step needs
///    space; when it fails (ENOSPC) nothing has moved, and the partial and its resume
///    record stay as they were.
/// 2. the partial is renamed to the model's file name;
/// 3. the staged sidecar is renamed to `{model_id}.json`; both folders are fsynced.
///
/// A crash leaves a staged sidecar behind, which `finishInterruptedInstalls` (run by a pull
/// of that version and by every inventory scan) resolves: if the partial is still there,
/// step 2 never happened and the staged sidecar is dropped (the next pull re-hashes the
/// partial and installs it without fetching); if the partial is gone and the model file is
/// the partial's file (the device and inode the staged sidecar recorded; the size, for a
/// sidecar staged before that was recorded), step 2 happened and the install is finished
/// (step 3). Another version's file of the same size under that name is never taken for it.
///
/// One case is not all or nothing: should step 3 fail after step 2 replaced a previous
/// version's file of the same name, the new file goes back to being a partial and the
/// previous version is gone (its sidecar names a file that is not there, so the scanner
/// skips it). A rename within one folder that needs no space practically never fails.
extension LocalModelStore {
    /// Moves a verified partial file into place with its sidecar (see above). The previous
    /// copy, if any, stays intact until the rename replaces it in one step. On failure the
    /// partial is where it was, so the download can be installed later without fetching.
    ///
    /// Installs of one model id are serialised (its install lock, `withInstallLock`: a lock
    /// file under `.atmo-partial/` that goes once the install ends), so two versions installed
    /// at once can never leave one version's file under the other's sidecar. Blocking: call
    /// through `BlockingIO`.
    public func install(partialPath: String, entry: ModelEntry, downloadedFrom: String) throws(StoreError) -> String {
        let fd = try FileIO.open(partialPath, flags: O_RDWR)
        defer { FileIO.close(fd) }
        try FileIO.fsync(fd, path: partialPath)
        return try withInstallLock(modelID: entry.modelID) { () throws(StoreError) -> String in
            try place(partialPath: partialPath, entry: entry, downloadedFrom: downloadedFrom)
        }
    }

    private func place(partialPath: String, entry: ModelEntry, downloadedFrom: String) throws(StoreError) -> String {
        try checkNoNameClash(entry)
        let destination = modelPath(for: entry)
        let partial = try FileIO.stat(partialPath)
        var sidecar = InstalledModel(
            modelID: entry.modelID, name: entry.name, type: entry.type, format: entry.format, sizeBytes: entry.sizeBytes,
            sha256: entry.sha256, version: entry.version, source: entry.source, sourceRef: entry.sourceRef,
            downloadedFrom: downloadedFrom, downloadedAt: ISO8601DateFormatter().string(from: Date()),
            fileName: entry.fileName)
        sidecar.fileIdentity = Self.identity(of: partial)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(sidecar) } catch { throw StoreError(.io, "cannot encode metadata: \(error)") }

        // 1. The sidecar, durable, where nothing takes it for an installed model.
        let staged = stagedSidecarPath(sha256: entry.sha256)
        try FileIO.writeAtomically(data, to: staged)
        // The version this one replaces, kept when the store keeps previous versions.
        let replaced = keepPreviousVersion(replacedBy: entry)
        // 2. The model.
        do {
            try FileIO.rename(partialPath, destination)
        } catch {
            unlink(staged)
            throw error
        }
        // 3. Its sidecar. Should this rename fail, the model goes back to being a partial.
        do {
            try FileIO.rename(staged, sidecarPath(modelID: entry.modelID))
        } catch {
            if rename(destination, partialPath) == 0 { unlink(staged) }
            throw error
        }
        // Kept under `.atmo-previous/`; its name here is nobody's now.
        if let replaced { unlink(replaced) }
        try FileIO.fsyncDirectory(directory)
        try FileIO.fsyncDirectory(partialDirectory)
        return destination
    }

    /// Resolves installs a crash interrupted (see the type's notes), for one version or,
    /// when `sha256` is nil, all of them; also removes temporary files of processes that are
    /// gone. Returns the ids of the models whose install it finished. Blocking.
    @discardableResult
    public func finishInterruptedInstalls(sha256: String? = nil) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: partialDirectory)) ?? []
        var finished: [String] = []
        for name in names {
            if name.hasPrefix("."), sha256 == nil {
                removeIfOrphanedTemporary(name)
                continue
            }
            guard name.hasSuffix(".install.json") else { continue }
            let version = String(name.dropLast(".install.json".count))
            guard sha256 == nil || version == sha256 else { continue }
            if let modelID = finishInterruptedInstall(sha256: version) { finished.append(modelID) }
        }
        return finished
    }

    /// One staged sidecar: finishes or drops it under the model's install lock.
    private func finishInterruptedInstall(sha256: String) -> String? {
        let staged = stagedSidecarPath(sha256: sha256)
        guard let data = FileManager.default.contents(atPath: staged),
            let model = try? JSONDecoder().decode(InstalledModel.self, from: data),
            model.sha256 == sha256, Validation.isValidModelID(model.modelID)
        else {
            // Not written by `install` (or cut short before its rename): nothing refers to it.
            unlink(staged)
            return nil
        }
        let outcome = try? withInstallLock(modelID: model.modelID) { () throws(StoreError) -> Bool in
            // Finished (or resolved) by someone else meanwhile.
            guard (try? FileIO.stat(staged)) != nil else { return false }
            let moved = (try? FileIO.stat(partialPath(sha256: sha256))) == nil
            if moved, let file = try? FileIO.stat(filePath(of: model)), file.size == model.sizeBytes,
                model.fileIdentity == nil || model.fileIdentity == Self.identity(of: file)
            {
                try FileIO.rename(staged, sidecarPath(modelID: model.modelID))
                try FileIO.fsyncDirectory(directory)
                try FileIO.fsyncDirectory(partialDirectory)
                return true
            }
            unlink(staged)
            return false
        }
        return outcome == true ? model.modelID : nil
    }

    /// `device:inode`: a file keeps it across a rename within its file system.
    static func identity(of file: FileIO.Stat) -> String { "\(file.device):\(file.inode)" }

    /// `.{name}.tmp-{pid}-{random}` (see `FileIO.temporaryName`) left by a process that died
    /// while writing it.
    private func removeIfOrphanedTemporary(_ name: String) {
        guard let marker = name.range(of: ".tmp-", options: .backwards) else { return }
        let rest = name[marker.upperBound...].split(separator: "-")
        guard rest.count == 2, let pid = Int32(rest[0]), pid > 0, pid != getpid() else { return }
        if kill(pid, 0) != 0 && errno == ESRCH { unlink(partialDirectory + "/" + name) }
    }
}
