import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

@testable import AtmoStore

/// The installed state is all or nothing (model and sidecar), on a full disk and after a
/// crash at any step of `LocalModelStore.install`.
struct InstallAtomicityTests {
    func entry(sha256: String, size: Int64) -> ModelEntry {
        ModelEntry(
            modelID: "yolo", name: "YOLO", type: "vision", format: "pt", sizeBytes: size, sha256: sha256, version: "1",
            source: "test", sourceRef: "local")
    }

    func files(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    @Test(
        "a full disk at install moves nothing: the partial stays, no model without its sidecar",
        .enabled(if: TmpfsMount.isAvailable, "needs root on Linux to mount a tmpfs (a real full disk)"))
    func fullDiskKeepsThePartial() async throws {
        try await withTemporaryDirectory { root in
            try await TmpfsMount.with(at: root.sub("disk"), bytes: 1 << 20) { disk in
                let store = LocalModelStore(directory: disk.path)
                try store.prepare()
                // The partial takes every page of the disk: the sidecar cannot be written.
                let sha = try ModelFixtures.writeModel(at: root.sub("model.pt"), size: 1 << 20, seed: 5)
                let partial = store.partialPath(sha256: sha)
                try FileManager.default.copyItem(atPath: root.sub("model.pt"), toPath: partial)
                let entry = entry(sha256: sha, size: 1 << 20)

                let failure = #expect(throws: StoreError.self) {
                    try store.install(partialPath: partial, entry: entry, downloadedFrom: "x")
                }
                #expect(failure?.code == .storageFull, "\(String(describing: failure))")
                #expect(try ModelFixtures.sha256(of: partial) == sha, "the verified partial must stay where it was")
                #expect(!FileManager.default.fileExists(atPath: store.modelPath(for: entry)), "no model without its sidecar")
                #expect(store.installed().isEmpty)
                #expect(files(in: store.directory) == [".atmo-partial"])
                // No `yolo.install.lock` either: the install lock's file goes once the install
                // ends, failed or not (`withInstallLock`), so a store whose pulls and installs
                // are over holds nothing but partials under `.atmo-partial/`. Removing it is safe:
                // every holder re-checks that the path still names the file it locked.
                #expect(files(in: store.partialDirectory) == ["\(sha).part"])

                // With room, the same partial installs.
                try disk.resize(bytes: 2 << 20)
                let path = try store.install(partialPath: partial, entry: entry, downloadedFrom: "x")
                #expect(try ModelFixtures.sha256(of: path) == sha)
                #expect(store.installed(modelID: "yolo")?.sha256 == sha)
                #expect(!FileManager.default.fileExists(atPath: partial))
                #expect(!FileManager.default.fileExists(atPath: store.stagedSidecarPath(sha256: sha)))
            }
        }
    }

    @Test("a crash after staging the sidecar, before the model moved: the staged sidecar is dropped")
    func crashBeforeTheModelMoved() throws {
        try withTemporaryDirectorySync { root in
            let store = LocalModelStore(directory: root + "/models")
            try store.prepare()
            let sha = String(repeating: "a", count: 64)
            let partial = store.partialPath(sha256: sha)
            try Data(count: 4096).write(to: URL(fileURLWithPath: partial))
            let entry = entry(sha256: sha, size: 4096)
            try store.stageSidecar(for: entry)

            #expect(store.finishInterruptedInstalls().isEmpty)
            #expect(FileManager.default.fileExists(atPath: partial), "the partial stays for the next pull")
            #expect(!FileManager.default.fileExists(atPath: store.stagedSidecarPath(sha256: sha)))
            #expect(store.installed().isEmpty)
            // Installing afterwards works as usual.
            _ = try store.install(partialPath: partial, entry: entry, downloadedFrom: "x")
            #expect(store.installed(modelID: "yolo")?.sha256 == sha)
        }
    }

    @Test("a crash after the model moved, before its sidecar: the install is finished")
    func crashAfterTheModelMoved() throws {
        try withTemporaryDirectorySync { root in
            let store = LocalModelStore(directory: root + "/models")
            try store.prepare()
            let sha = String(repeating: "b", count: 64)
            let entry = entry(sha256: sha, size: 4096)
            try store.stageSidecar(for: entry)
            try Data(count: 4096).write(to: URL(fileURLWithPath: store.modelPath(for: entry)))
            #expect(store.installed().isEmpty, "a file without its sidecar is not installed")

            #expect(store.finishInterruptedInstalls(sha256: sha) == ["yolo"])
            #expect(store.installed(modelID: "yolo")?.sha256 == sha)
            #expect(!FileManager.default.fileExists(atPath: store.stagedSidecarPath(sha256: sha)))
            #expect(store.finishInterruptedInstalls().isEmpty, "nothing left to finish")
        }
    }

    @Test("a crash after the model moved: the staged identity finds the partial's file in place")
    func crashAfterTheModelMovedWithItsIdentity() throws {
        try withTemporaryDirectorySync { root in
            let store = LocalModelStore(directory: root + "/models")
            try store.prepare()
            let sha = String(repeating: "b", count: 64)
            let entry = entry(sha256: sha, size: 4096)
            let partial = store.partialPath(sha256: sha)
            try Data(count: 4096).write(to: URL(fileURLWithPath: partial))
            try store.stageSidecar(for: entry, identity: LocalModelStore.identity(of: try FileIO.stat(partial)))
            try FileIO.rename(partial, store.modelPath(for: entry))  // step 2, then the crash

            #expect(store.finishInterruptedInstalls(sha256: sha) == ["yolo"])
            #expect(store.installed(modelID: "yolo")?.sha256 == sha)
        }
    }

    @Test("a staged sidecar is not finished over another version's file of the same size")
    func anotherVersionOfTheSameSizeIsNotTakenForTheStagedOne() throws {
        try withTemporaryDirectorySync { root in
            let store = LocalModelStore(directory: root + "/models")
            try store.prepare()
            let old = entry(sha256: String(repeating: "a", count: 64), size: 4096)
            let new = entry(sha256: String(repeating: "b", count: 64), size: 4096)
            // The old version installed; the new one staged, then its partial lost before step 2.
            let oldPartial = store.partialPath(sha256: old.sha256)
            try Data(repeating: 1, count: 4096).write(to: URL(fileURLWithPath: oldPartial))
            _ = try store.install(partialPath: oldPartial, entry: old, downloadedFrom: "x")
            let newPartial = store.partialPath(sha256: new.sha256)
            try Data(repeating: 2, count: 4096).write(to: URL(fileURLWithPath: newPartial))
            try store.stageSidecar(for: new, identity: LocalModelStore.identity(of: try FileIO.stat(newPartial)))
            unlink(newPartial)

            #expect(store.finishInterruptedInstalls().isEmpty)
            #expect(store.installed(modelID: "yolo")?.sha256 == old.sha256, "the old version's sidecar stays")
            #expect(!FileManager.default.fileExists(atPath: store.stagedSidecarPath(sha256: new.sha256)))
        }
    }

    @Test("a staged sidecar whose model is neither partial nor in place (or another size) is dropped")
    func staleStagedSidecar() throws {
        try withTemporaryDirectorySync { root in
            let store = LocalModelStore(directory: root + "/models")
            try store.prepare()
            let sha = String(repeating: "c", count: 64)
            let entry = entry(sha256: sha, size: 4096)
            try store.stageSidecar(for: entry)
            try Data(count: 100).write(to: URL(fileURLWithPath: store.modelPath(for: entry)))
            // Another version's staged sidecar is not this pull's business.
            #expect(store.finishInterruptedInstalls(sha256: String(repeating: "d", count: 64)).isEmpty)
            #expect(FileManager.default.fileExists(atPath: store.stagedSidecarPath(sha256: sha)))
            #expect(store.finishInterruptedInstalls().isEmpty)
            #expect(!FileManager.default.fileExists(atPath: store.stagedSidecarPath(sha256: sha)))
            #expect(store.installed().isEmpty)
            // Garbage under the staged name and temporaries of dead processes go too.
            let garbage = store.stagedSidecarPath(sha256: String(repeating: "e", count: 64))
            try Data("{".utf8).write(to: URL(fileURLWithPath: garbage))
            let deadTemporary = store.partialDirectory + "/.x.install.json.tmp-\(Int32.max)-7"
            let ownTemporary = store.partialDirectory + "/.y.install.json.tmp-\(getpid())-7"
            for path in [deadTemporary, ownTemporary] { try Data().write(to: URL(fileURLWithPath: path)) }
            store.finishInterruptedInstalls()
            #expect(!FileManager.default.fileExists(atPath: garbage))
            #expect(!FileManager.default.fileExists(atPath: deadTemporary))
            #expect(FileManager.default.fileExists(atPath: ownTemporary), "a live process's temporary is left alone")
        }
    }
}
