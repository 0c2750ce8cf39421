import AtmoProtocol
import AtmoStore
import AtmoTesting
import Crypto
import Foundation
import Testing

@testable import AtmoTransfer

/// A repository pull from a peer that lies about a repository, on real files and sockets
/// (the hostile review's F1, F2, F3, F7): the user's models and the commits the cache holds
/// are never replaced, a lying git blob id is a verification failure, and a destination that
/// cannot take the files fails before any byte moves; no error leaves a store model behind.
struct RepositoryHostilePeerTests {
    static let commit = String(repeating: "2", count: 40)
    static let otherCommit = String(repeating: "3", count: 40)

    static func bytes(_ seed: UInt8, count: Int = 200_000) -> Data {
        Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) })
    }

    static func sha(_ bytes: Data) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    /// `org/tiny` at `revision` with one file at `path` holding `bytes` (an LFS file unless
    /// `blobID` names a git blob).
    static func repository(_ bytes: Data, revision: String = commit, path: String = "model.safetensors", blobID: String? = nil)
        -> (RepositoryEntry, ModelEntry)
    {
        let sha = sha(bytes)
        let file = RepositoryFile(
            path: path, sizeBytes: Int64(bytes.count), sha256: sha, blobID: blobID ?? sha,
            modelID: "org--tiny--" + path.replacingOccurrences(of: "/", with: "--"))
        let entry = RepositoryEntry(modelID: "org--tiny", repoID: "org/tiny", revision: revision, refs: ["main"], files: [file])
        return (entry, file.modelEntry(in: entry))
    }

    static func pull(
        _ entry: RepositoryEntry, from url: String?, store: LocalModelStore, into destination: RepositoryDestination,
        database: StateDatabase
    ) async throws -> InstalledRepository {
        try await PullHarness.withEngine(database: database) { engine in
            let puller = RepositoryPuller(engine: engine, store: store, requesterNodeID: PullHarness.requester, logger: PullHarness.logger)
            return try await puller.pull(entry, from: url.map { [PullSource(baseURL: $0)] } ?? [], into: destination)
        }
    }

    /// The error a pull threw, nil when it succeeded.
    static func failure(_ body: () async throws -> InstalledRepository) async -> TransferError? {
        do {
            _ = try await body()
            return nil
        } catch let error as TransferError {
            return error
        } catch {
            return TransferError(.internalError, "\(error)")
        }
    }

    @Test("a file fetched for the cache under the id of a model the store holds leaves that model as it was")
    func theStoresModelOfTheSameIDIsNeverReplacedNorRemoved() async throws {
        let genuine = Self.bytes(1)
        let (entry, model) = Self.repository(genuine)
        let other = Self.bytes(2)
        let (newer, newerModel) = Self.repository(other, revision: Self.otherCommit)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let database = try StateDatabase()
            _ = try await withFakePeer(FakePeer(entry: model, bytes: genuine)) { url in
                try await Self.pull(entry, from: url, store: store, into: .store, database: database)
            }
            let installed = try #require(store.installed(modelID: model.modelID))
            // Another commit (or a peer's lie) with other bytes under the same id, for the cache.
            let cache = HubCache(root: directory.sub("hub"))
            let done = try await withFakePeer(FakePeer(entry: newerModel, bytes: other)) { url in
                try await Self.pull(newer, from: url, store: store, into: .huggingFace(cache), database: database)
            }
            #expect(done.files.map(\.outcome) == [.fetched])
            let snapshot = directory.sub("hub/models--org--tiny/snapshots/\(Self.otherCommit)")
            #expect(FileManager.default.contents(atPath: snapshot + "/model.safetensors") == other)
            #expect(store.installed(modelID: model.modelID) == installed, "the user's model keeps its sidecar")
            #expect(FileManager.default.contents(atPath: store.filePath(of: installed)) == genuine, "and its bytes")
            #expect(RepositoryPuller.scratch(of: store).installed().isEmpty, "the pull's own copy is gone")
        }
    }

    @Test("a peer offering other bytes for a file of a commit the cache holds is refused before any byte moves")
    func aCommitTheCacheHoldsIsNeverRewritten() async throws {
        let genuine = Self.bytes(1)
        let (entry, model) = Self.repository(genuine)
        let evil = Self.bytes(9)
        let (lie, lieModel) = Self.repository(evil)  // the same commit and path, other bytes
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let cache = HubCache(root: directory.sub("hub"))
            let database = try StateDatabase()
            _ = try await withFakePeer(FakePeer(entry: model, bytes: genuine)) { url in
                try await Self.pull(entry, from: url, store: store, into: .huggingFace(cache), database: database)
            }
            let hostile = FakePeer(entry: lieModel, bytes: evil)
            let error = try await withFakePeer(hostile) { url in
                let error = await Self.failure {
                    try await Self.pull(lie, from: url, store: store, into: .huggingFace(cache), database: database)
                }
                #expect(error?.message.contains(url) == true, "the error names the peer: \(error?.message ?? "")")
                return error
            }
            #expect(error?.code == .hashMismatch)
            #expect(error.map { ErrorMapping.exitCode(for: $0.code) } == ExitStatus.verification)
            #expect(error?.message.contains("model.safetensors") == true)
            #expect(hostile.log.pieces.isEmpty, "no byte was fetched")
            let pointer = directory.sub("hub/models--org--tiny/snapshots/\(Self.commit)/model.safetensors")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: pointer) == "../../blobs/\(model.sha256)")
            #expect(FileManager.default.contents(atPath: pointer) == genuine)
            #expect(!FileManager.default.fileExists(atPath: directory.sub("hub/models--org--tiny/blobs/\(lieModel.sha256)")))
            #expect(store.installed().isEmpty)
        }
    }

    @Test("a git blob id the bytes do not hash to is a verification failure, and the fetched bytes do not stay in the store")
    func aLyingGitBlobIDIsAVerificationFailure() async throws {
        let bytes = Data(#"{"model_type": "bert"}"#.utf8)
        let (entry, model) = Self.repository(bytes, path: "config.json", blobID: String(repeating: "a", count: 40))
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let cache = HubCache(root: directory.sub("hub"))
            let error = try await withFakePeer(FakePeer(entry: model, bytes: bytes)) { url in
                await Self.failure {
                    try await Self.pull(entry, from: url, store: store, into: .huggingFace(cache), database: try StateDatabase())
                }
            }
            #expect(error?.code == .hashMismatch, "\(error?.message ?? "")")
            #expect(store.installed().isEmpty, "no model the user never asked for")
            #expect(
                !FileManager.default.fileExists(atPath: directory.sub("hub/models--org--tiny/blobs/" + String(repeating: "a", count: 40))))
        }
    }

    @Test("a cache that cannot take the files fails before any byte moves, leaving nothing in the store")
    func anUnwritableCacheFailsFirst() async throws {
        let bytes = Self.bytes(4)
        let (entry, model) = Self.repository(bytes)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let cache = HubCache(root: directory.sub("hub"))
            // `blobs` is a file: nothing can be written there.
            try FileManager.default.createDirectory(atPath: directory.sub("hub/models--org--tiny"), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: directory.sub("hub/models--org--tiny/blobs"), contents: Data("x".utf8))
            let peer = FakePeer(entry: model, bytes: bytes)
            let error = try await withFakePeer(peer) { url in
                await Self.failure {
                    try await Self.pull(entry, from: url, store: store, into: .huggingFace(cache), database: try StateDatabase())
                }
            }
            #expect(error != nil)
            #expect(peer.log.pieces.isEmpty, "no byte was fetched")
            #expect(store.installed().isEmpty)
        }
    }
}
