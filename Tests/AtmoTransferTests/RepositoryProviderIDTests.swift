import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// Issue 12: one commit, offered by a node under ids of its own (it holds the commit as a
/// tag beside another `main`, so its files are `org--tiny-{hash}--{path}`), is pulled from
/// that node by its own ids, whatever ids the entry being pulled names the files by.
struct RepositoryProviderIDTests {
    static let hashedID = "org--tiny-1a2b3c4d"

    /// The repository of `RepositoryPullTests` as a node holding it as a tag offers it.
    static func asTag(_ entry: RepositoryEntry) -> RepositoryEntry {
        var tagged = entry
        tagged.modelID = hashedID
        tagged.refs = ["v1"]
        tagged.files = entry.files.map { file in
            var own = file
            own.modelID = hashedID + "--" + file.path.replacingOccurrences(of: "/", with: "--")
            return own
        }
        return tagged
    }

    @Test func aFileIsFetchedFromAProviderByThatProvidersOwnID() async throws {
        let (entry, _, bytes) = RepositoryPullTests.repository()
        let tagged = Self.asTag(entry)
        let theirs = tagged.files[0].modelEntry(in: tagged)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let cache = HubCache(root: directory.sub("hub"))
            let peer = FakePeer(entry: theirs, bytes: bytes)
            try await withFakePeer(peer) { url in
                let source = PullSource(baseURL: url, nodeID: "b")
                // Not knowing the node's own ids, the pull asks it for ids it does not serve.
                let blind = await PullHarness.withEngineResult(database: try StateDatabase()) { engine in
                    let puller = RepositoryPuller(
                        engine: engine, store: store, requesterNodeID: PullHarness.requester, logger: PullHarness.logger)
                    return try await puller.pull(entry, from: [source], into: .huggingFace(cache))
                }
                #expect(blind != nil, "a pull by ids the node does not serve cannot succeed")
                #expect(peer.log.pieces.isEmpty)

                let done = try await PullHarness.withEngine(database: try StateDatabase()) { engine in
                    let puller = RepositoryPuller(
                        engine: engine, store: store, requesterNodeID: PullHarness.requester, logger: PullHarness.logger)
                    return try await puller.pull(entry, from: [source], providers: ["b": tagged], into: .huggingFace(cache))
                }
                #expect(done.files.map(\.outcome) == [.fetched] && done.entry.modelID == "org--tiny")
                let snapshot = directory.sub("hub/models--org--tiny/snapshots/\(RepositoryPullTests.revision)")
                #expect(FileManager.default.contents(atPath: snapshot + "/onnx/model.onnx") == bytes)
                #expect(peer.log.requestedBytes == Int64(bytes.count))
                // Reported by the node's own id too.
                #expect(peer.log.reports.last?.contains(#""model_id":"\#(theirs.modelID)""#) == true, "\(peer.log.reports)")
            }
        }
    }

    @Test func aProvidersOwnIDsAreFoundByPathThenByContent() {
        let (entry, _, _) = RepositoryPullTests.repository()
        var tagged = Self.asTag(entry)
        let own = RepositoryFileChannel.ownIDs(of: entry, in: tagged)
        #expect(own.mapValues(\.modelID) == [entry.files[0].modelID: tagged.files[0].modelID])
        // The same bytes under another path still serve.
        tagged.files[0].path = "elsewhere.onnx"
        #expect(RepositoryFileChannel.ownIDs(of: entry, in: tagged).count == 1)
        // Other bytes at the path do not; nor does a provider naming the files alike.
        tagged.files[0].sha256 = String(repeating: "f", count: 64)
        #expect(RepositoryFileChannel.ownIDs(of: entry, in: tagged).isEmpty)
        #expect(RepositoryFileChannel.ownIDs(of: entry, in: entry).isEmpty)
    }
}
