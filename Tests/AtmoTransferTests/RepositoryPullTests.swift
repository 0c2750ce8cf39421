import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Crypto
import Foundation
import Testing

@testable import AtmoTransfer

/// `--include` / `--exclude` as `hf download` reads them (Python's fnmatch).
struct RepositoryFileSelectionTests {
    @Test func globsMatchAsFnmatchDoes() {
        let matches = RepositoryFileSelection.matches
        #expect(matches("config.json", "*.json"))
        #expect(matches("onnx/config.json", "*.json"), "* crosses folders, as in fnmatch")
        #expect(matches("onnx/model.onnx", "onnx/"), "a trailing / means everything under it")
        #expect(!matches("onnx.txt", "onnx/"))
        #expect(matches("model-00001-of-00002.safetensors", "model-0000?-of-*.safetensors"))
        #expect(matches("a.bin", "[ab].bin"))
        #expect(!matches("c.bin", "[ab].bin"))
        #expect(matches("c.bin", "[!ab].bin"))
        #expect(matches("x3", "x[0-9]"))
        #expect(matches("[x", "[x"), "an unclosed [ is a literal")
        #expect(!matches("config.json", "*.JSON"), "case-sensitive, as fnmatchcase")
        #expect(matches("a/b/c", "*"))
        #expect(!matches("abc", "ab"))
    }

    @Test func includeThenExcludeThenPaths() {
        let selection = RepositoryFileSelection(include: ["*.json", "*.safetensors"], exclude: ["tokenizer*"])
        #expect(selection.selects("config.json"))
        #expect(!selection.selects("tokenizer.json"))
        #expect(!selection.selects("README.md"))
        #expect(RepositoryFileSelection.all.selects("anything/at/all"))
        #expect(RepositoryFileSelection.file("onnx/model.onnx").selects("onnx/model.onnx"))
        #expect(!RepositoryFileSelection.file("onnx/model.onnx").selects("model.onnx"))
    }

    @Test func aMissingFileOrAnEmptySelectionIsNotOffered() throws {
        let sha = String(repeating: "a", count: 64)
        let entry = RepositoryEntry(
            modelID: "org--tiny", repoID: "org/tiny", revision: String(repeating: "1", count: 40),
            files: [
                RepositoryFile(
                    path: "config.json", sizeBytes: 2, sha256: sha, blobID: String(repeating: "b", count: 40),
                    modelID: "org--tiny--config.json")
            ])
        #expect(throws: TransferError.self) { try RepositoryFileSelection.file("nope.bin").files(of: entry) }
        #expect(throws: TransferError.self) { try RepositoryFileSelection(include: ["*.gguf"]).files(of: entry) }
        #expect(try RepositoryFileSelection.all.files(of: entry).map(\.path) == ["config.json"])
    }
}

/// A repository pulled from a provider into a Hugging Face cache, on real files and sockets.
struct RepositoryPullTests {
    static let revision = String(repeating: "2", count: 40)

    /// A repository of one LFS file served by a fake provider (as a model it lists).
    static func repository() -> (RepositoryEntry, ModelEntry, Data) {
        let bytes = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let sha = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        let file = RepositoryFile(
            path: "onnx/model.onnx", sizeBytes: Int64(bytes.count), sha256: sha, blobID: sha, modelID: "org--tiny--onnx--model.onnx")
        let entry = RepositoryEntry(modelID: "org--tiny", repoID: "org/tiny", revision: revision, refs: ["main"], files: [file])
        return (entry, file.modelEntry(in: entry), bytes)
    }

    @Test func pullsIntoTheCacheThenFindsItInstalled() async throws {
        let (entry, model, bytes) = Self.repository()
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let cache = HubCache(root: directory.sub("hub"))
            let database = try StateDatabase()
            let first = try await withFakePeer(FakePeer(entry: model, bytes: bytes)) { url in
                try await PullHarness.withEngine(database: database) { engine in
                    let puller = RepositoryPuller(
                        engine: engine, store: store, requesterNodeID: PullHarness.requester, logger: PullHarness.logger)
                    return try await puller.pull(entry, from: [PullSource(baseURL: url)], into: .huggingFace(cache))
                }
            }
            let snapshot = directory.sub("hub/models--org--tiny/snapshots/\(Self.revision)")
            #expect(first.path == snapshot)
            #expect(first.files.map(\.outcome) == [.fetched])
            #expect(
                try FileManager.default.destinationOfSymbolicLink(atPath: snapshot + "/onnx/model.onnx") == "../../../blobs/\(model.sha256)"
            )
            #expect(FileManager.default.contents(atPath: snapshot + "/onnx/model.onnx") == bytes)
            #expect(FileManager.default.contents(atPath: directory.sub("hub/models--org--tiny/refs/main")) == Data(Self.revision.utf8))
            #expect(store.installed().isEmpty, "the store keeps no second name for it")
            // Again, with no source at all: every file is in place.
            let again = try await PullHarness.withEngine(database: database) { engine in
                let puller = RepositoryPuller(
                    engine: engine, store: store, requesterNodeID: PullHarness.requester, logger: PullHarness.logger)
                return try await puller.pull(entry, from: [], into: .huggingFace(cache))
            }
            #expect(again.alreadyInstalled)
        }
    }

    @Test func aHostileEntryWritesNothing() async throws {
        let (entry, model, _) = Self.repository()
        let good = entry.files[0]
        func hostile(_ paths: [String]) -> RepositoryEntry {
            var bad = entry
            bad.files = paths.map {
                RepositoryFile(path: $0, sizeBytes: good.sizeBytes, sha256: good.sha256, blobID: good.blobID, modelID: model.modelID)
            }
            return bad
        }
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let cache = HubCache(root: directory.sub("hub"))
            for paths in [["../../../escape"], ["/etc/passwd"], ["a/../../b"], ["onnx", "onnx/model.onnx"]] {
                let bad = hostile(paths)
                let outcome = await PullHarness.withEngineResult(database: try StateDatabase()) { engine in
                    let puller = RepositoryPuller(
                        engine: engine, store: store, requesterNodeID: PullHarness.requester, logger: PullHarness.logger)
                    return try await puller.pull(bad, from: [], into: .huggingFace(cache))
                }
                #expect(outcome == .protocolViolation, "\(paths)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == [], "nothing was written anywhere")
        }
    }

    @Test func aFileInTheStoreIsHardLinkedNotFetched() async throws {
        let (entry, model, bytes) = Self.repository()
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let database = try StateDatabase()
            // Into the store first (`--into atmo`), from the provider.
            _ = try await withFakePeer(FakePeer(entry: model, bytes: bytes)) { url in
                try await PullHarness.withEngine(database: database) { engine in
                    let puller = RepositoryPuller(
                        engine: engine, store: store, requesterNodeID: PullHarness.requester, logger: PullHarness.logger)
                    return try await puller.pull(entry, from: [PullSource(baseURL: url)], into: .store)
                }
            }
            #expect(store.installed().map(\.modelID) == [model.modelID])
            // Then into the cache with the provider gone: linked from the store.
            let cache = HubCache(root: directory.sub("hub"))
            let done = try await PullHarness.withEngine(database: database) { engine in
                let puller = RepositoryPuller(
                    engine: engine, store: store, requesterNodeID: PullHarness.requester, logger: PullHarness.logger)
                return try await puller.pull(entry, from: [], into: .huggingFace(cache))
            }
            #expect(done.files.map(\.outcome) == [.fromStore])
            let blob = directory.sub("hub/models--org--tiny/blobs/\(model.sha256)")
            var info = stat()
            #expect(stat(blob, &info) == 0 && info.st_nlink == 2, "one copy of the bytes, two names")
            #expect(store.installed().count == 1, "a model the store held before stays")
        }
    }
}

extension PullHarness {
    /// Runs `body` with an engine; the `TransferError` code it threw, nil when it returned.
    static func withEngineResult(
        database: @autoclosure () throws -> StateDatabase, _ body: @escaping @Sendable (PullEngine) async throws -> InstalledRepository
    ) async -> TransferError.Code? {
        do {
            _ = try await withEngine(database: try database(), body)
            return nil
        } catch let error as TransferError {
            return error.code
        } catch {
            return .localError
        }
    }
}
