import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// The files of a repository pull (`atmo pull org/name`, the Hub endpoint's mesh fetches)
/// come over kept-alive connections (`RangeConnection`) to each plain-HTTP source: a bounded
/// number of connections however many ranges, all closed once the pull returns.
@Suite(.serialized)
struct RepositoryKeptConnectionTests {
    static let pieceSize = SwarmPullTests.pieceSize

    /// The `model_id` of the repository's one file.
    static let fileID = "org--kept--model.safetensors"

    /// A repository of one file, `model`'s bytes, named by the same `model_id` (`fileID`),
    /// and its manifest when `model` names one.
    static func repository(of model: ModelEntry) -> RepositoryEntry {
        let file = RepositoryFile(
            path: "model.safetensors", sizeBytes: model.sizeBytes, sha256: model.sha256, blobID: model.sha256, modelID: model.modelID,
            pieceSize: model.pieceSize, piecesSHA256: model.piecesSHA256)
        return RepositoryEntry(
            modelID: "org--kept", repoID: "org/kept", revision: String(repeating: "3", count: 40), refs: ["main"], files: [file])
    }

    /// Pulls `repository` from `peers` (each served on loopback, its connections counted into
    /// its tally) into a Hugging Face cache; checks the file, and that no connection of the
    /// pull is left open once it returned.
    static func pull(
        _ repository: RepositoryEntry, bytes: Data, from peers: [(FakePeer, ConnectionTally)], connections: Int,
        in directory: TemporaryDirectory
    ) async throws {
        let store = LocalModelStore(directory: directory.sub("models"))
        let cache = HubCache(root: directory.sub("hub"))
        let database = try StateDatabase()
        try await withCountingFakePeers(peers) { urls in
            let sources = urls.enumerated().map { PullSource(baseURL: $1, nodeID: "node-\($0)") }
            try await PullHarness.withEngine(PullHarness.configuration(connections: connections), database: database) { engine in
                let puller = RepositoryPuller(engine: engine, store: store, requesterNodeID: PullHarness.requester, logger: PullHarness.logger)
                let done = try await withDeadline(60) {
                    try await puller.pull(repository, from: sources, into: .huggingFace(cache))
                }
                #expect(done.files.map(\.outcome) == [.fetched])
                let snapshot = directory.sub("hub/models--org--kept/snapshots/\(repository.revision)")
                #expect(FileManager.default.contents(atPath: snapshot + "/model.safetensors") == bytes)
                // Closed with the pull, not left to an idle timeout (polled: the peer hears
                // each close a moment later).
                try await SwarmKeptConnectionTests.poll("the pull's connections closed") {
                    peers.allSatisfy { $0.1.now.downloadOpen == 0 }
                }
            }
        }
    }

    @Test func twoSeedsServeARepositoryFileOverAFewKeptConnections() async throws {
        // 97 pieces, each its own request (pieces are checked with more than one source).
        var model = FakePeer.swarmModel(size: 96 * 64 * 1024 + 123)
        model.0.modelID = Self.fileID
        let peers = (0..<2).map { _ in (FakePeer.seed(model, behaviour: { _ in .slow(seconds: 0.005) }), ConnectionTally()) }
        try await withTemporaryDirectory { directory in
            try await Self.pull(Self.repository(of: model.0), bytes: model.1, from: peers, connections: 2, in: directory)
        }
        #expect(peers.map(\.0.log.pieces.count).reduce(0, +) >= 97)
        for (peer, tally) in peers {
            // One connection per worker (2), and a new one after an endgame copy given up
            // on or a failure.
            #expect(tally.now.downloadAccepted <= 6, "\(tally.now) for \(peer.log.pieces.count) requests")
        }
    }

    @Test func aRepositoryFileWithoutAManifestComesOverAFewKeptConnections() async throws {
        // No manifest: one source at a time, each 64 KiB piece its own request.
        let (entry, bytes) = PullFailureTests.model(id: Self.fileID, size: 96 * 64 * 1024 + 123)
        let peer = (FakePeer(entry: entry, bytes: bytes, behaviour: { _ in .slow(seconds: 0.005) }), ConnectionTally())
        try await withTemporaryDirectory { directory in
            try await Self.pull(Self.repository(of: entry), bytes: bytes, from: [peer], connections: 2, in: directory)
        }
        #expect(peer.0.log.pieces.count >= 97)
        #expect(peer.1.now.downloadAccepted <= 4, "\(peer.1.now) for \(peer.0.log.pieces.count) requests")
    }

    @Test func aConnectionIsLentOnceAndNoneOnceThePullEnded() async throws {
        try await HTTPClient.withHTTPClient { http in
            let connections = RepositoryConnections(PullHarness.configuration())
            let plain = PeerClient(baseURL: "http://127.0.0.1:9", http: http, logger: PullHarness.logger)
            let tls = PeerClient(baseURL: "https://127.0.0.1:9", http: http, logger: PullHarness.logger)
            #expect(connections.borrow(for: tls) == nil, "https keeps AsyncHTTPClient")
            let first = try #require(connections.borrow(for: plain))
            let second = try #require(connections.borrow(for: plain))
            #expect(first !== second, "a lent connection is not lent again")
            connections.giveBack(first, for: plain)
            #expect(connections.borrow(for: plain) === first, "a connection given back is lent again")
            connections.close()
            #expect(connections.borrow(for: plain) == nil, "no connection once the pull ended")
        }
    }
}
