import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// What a repository pull leaves in the store once it ends, on real files and sockets: no
/// install lock files, no empty `.atmo-repository/` scratch folder, on success and failure;
/// a lock another holder has, and a partial kept for a resume, stay.
struct RepositoryLeftoverTests {
    typealias Peer = RepositoryHostilePeerTests

    /// Every path under `root`, hidden ones and folders included, relative, sorted.
    static func everything(under root: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var names: [String] = []
        while let name = enumerator?.nextObject() as? String { names.append(name) }
        return names.sorted()
    }

    static func leftovers(under root: String) -> [String] {
        everything(under: root).filter { $0.hasSuffix(".install.lock") || $0.hasPrefix(".atmo-repository") }
    }

    @Test("a pull into the cache leaves no install lock in the store")
    func aPullIntoTheCacheLeavesNoLock() async throws {
        let bytes = Peer.bytes(1)
        let (entry, model) = Peer.repository(bytes)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let cache = HubCache(root: directory.sub("hub"))
            _ = try await withFakePeer(FakePeer(entry: model, bytes: bytes)) { url in
                try await Peer.pull(entry, from: url, store: store, into: .huggingFace(cache), database: try StateDatabase())
            }
            #expect(FileManager.default.contents(atPath: directory.sub("hub/models--org--tiny/snapshots/\(Peer.commit)/model.safetensors")) == bytes)
            #expect(Self.leftovers(under: store.directory) == [], "\(Self.everything(under: store.directory))")
            // The cache's own lock stays where huggingface_hub's filelock expects it.
            #expect(FileManager.default.fileExists(atPath: directory.sub("hub/.locks/models--org--tiny/\(model.sha256).lock")))
        }
    }

    @Test("a file that goes through the scratch store leaves neither the folder nor its locks")
    func theScratchStoreGoes() async throws {
        let genuine = Peer.bytes(1)
        let (entry, model) = Peer.repository(genuine)
        let other = Peer.bytes(2)
        let (newer, newerModel) = Peer.repository(other, revision: Peer.otherCommit)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let database = try StateDatabase()
            _ = try await withFakePeer(FakePeer(entry: model, bytes: genuine)) { url in
                try await Peer.pull(entry, from: url, store: store, into: .store, database: database)
            }
            #expect(Self.leftovers(under: store.directory) == [], "a pull into the store: \(Self.everything(under: store.directory))")
            let cache = HubCache(root: directory.sub("hub"))
            let done = try await withFakePeer(FakePeer(entry: newerModel, bytes: other)) { url in
                try await Peer.pull(newer, from: url, store: store, into: .huggingFace(cache), database: database)
            }
            #expect(done.files.map(\.outcome) == [.fetched])
            #expect(store.installed().map(\.modelID) == [model.modelID], "the user's model stays")
            #expect(Self.leftovers(under: store.directory) == [], "\(Self.everything(under: store.directory))")
            #expect(!FileManager.default.fileExists(atPath: RepositoryPuller.scratchLockPath(of: store)))
        }
    }

    @Test("a pull that fails at the install leaves no lock and no scratch folder either")
    func aFailedPullLeavesNoLock() async throws {
        let genuine = Peer.bytes(1)
        let (entry, model) = Peer.repository(genuine)
        let bytes = Data(#"{"model_type": "bert"}"#.utf8)
        // The same id as the store's model, and a git blob id the bytes do not hash to.
        let (lie, lieModel) = Peer.repository(bytes, revision: Peer.otherCommit, blobID: String(repeating: "a", count: 40))
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let database = try StateDatabase()
            _ = try await withFakePeer(FakePeer(entry: model, bytes: genuine)) { url in
                try await Peer.pull(entry, from: url, store: store, into: .store, database: database)
            }
            let cache = HubCache(root: directory.sub("hub"))
            let error = try await withFakePeer(FakePeer(entry: lieModel, bytes: bytes)) { url in
                await Peer.failure { try await Peer.pull(lie, from: url, store: store, into: .huggingFace(cache), database: database) }
            }
            #expect(error?.code == .hashMismatch, "\(error?.message ?? "")")
            #expect(Self.leftovers(under: store.directory) == [], "\(Self.everything(under: store.directory))")
        }
    }

    @Test("an install lock another holder has, and a scratch partial kept for a resume, stay")
    func whatIsInUseStays() throws {
        let directory = try TemporaryDirectory(prefix: "atmo-tidy")
        defer { directory.remove() }
        let store = LocalModelStore(directory: directory.sub("models"))
        let scratch = RepositoryPuller.scratch(of: store)
        try store.prepare()
        try scratch.prepare()
        let (entry, _) = Peer.repository(Peer.bytes(1))
        let file = entry.files[0]
        let lock = store.partialDirectory + "/\(file.modelID).install.lock"
        let holder = try #require(try FileIO.lockFile(lock))
        let partial = scratch.partialPath(sha256: file.sha256)
        _ = FileManager.default.createFile(atPath: partial, contents: Data("x".utf8))
        RepositoryPuller.tidy(store, files: [file])
        #expect(FileManager.default.fileExists(atPath: lock), "held: kept")
        #expect(FileManager.default.fileExists(atPath: partial), "the partial and its folders stay")
        FileIO.close(holder)
        unlink(partial)
        // Another pull going through the scratch store: the folder stays while it does.
        let user = try #require(try FileIO.lockFile(RepositoryPuller.scratchLockPath(of: store), shared: true))
        RepositoryPuller.tidy(store, files: [file])
        #expect(!FileManager.default.fileExists(atPath: lock), "free: removed")
        #expect(FileManager.default.fileExists(atPath: scratch.directory))
        FileIO.close(user)
        RepositoryPuller.tidy(store, files: [file])
        #expect(Self.leftovers(under: store.directory) == [], "\(Self.everything(under: store.directory))")
        #expect(!FileManager.default.fileExists(atPath: RepositoryPuller.scratchLockPath(of: store)))
    }
}
