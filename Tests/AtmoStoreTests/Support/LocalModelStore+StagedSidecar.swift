import AtmoProtocol
import Foundation

@testable import AtmoStore

extension LocalModelStore {
    /// Writes the sidecar that step 1 of `install` stages for `entry` (downloaded from "x" on
    /// 2026-01-01, with `identity` as its file identity): the state a crash after that step
    /// leaves behind.
    func stageSidecar(for entry: ModelEntry, identity: String? = nil) throws {
        var model = InstalledModel(
            modelID: entry.modelID, name: entry.name, type: entry.type, format: entry.format, sizeBytes: entry.sizeBytes,
            sha256: entry.sha256, version: entry.version, source: entry.source, sourceRef: entry.sourceRef, downloadedFrom: "x",
            downloadedAt: "2026-01-01T00:00:00Z", fileName: entry.fileName)
        model.fileIdentity = identity
        try FileIO.writeAtomically(try JSONEncoder().encode(model), to: stagedSidecarPath(sha256: entry.sha256))
    }
}
