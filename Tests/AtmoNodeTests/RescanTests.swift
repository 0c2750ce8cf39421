import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// Files that change, appear or disappear while the node runs.
struct RescanTests {
    static func sha256(of node: RunningNode, _ id: String) async throws -> String? {
        let answer = try await Client.get(node.baseURL + "/v1/models/" + id)
        return answer.status == 200 ? answer.json?["sha256"] as? String : nil
    }

    /// Modified in place after it was hashed: a download is refused with 409 (never the new
    /// bytes under the old hash), and the rescan it triggers publishes the new hash, even
    /// with the periodic rescan an hour away.
    @Test func modifiedFileIs409ThenReindexed() async throws {
        try await withFixtureNode(configure: { $0.rescanIntervalSeconds = 3600 }) { node, fixture in
            let path = fixture.path(NodeFixture.tinyID)
            let oldHash = try #require(try await Self.sha256(of: node, NodeFixture.tinyID))
            var bytes = try fixture.bytes(NodeFixture.tinyID)
            bytes[5000] ^= 0xff
            bytes += [1, 2, 3]
            try overwriteInPlace(path, with: bytes)
            let newHash = try ModelFixtures.sha256(of: path)
            #expect(newHash != oldHash)

            let refused = try await RawHTTP.get(port: node.port, "/v1/models/download/" + NodeFixture.tinyID)
            #expect(refused.status == 409)
            #expect(refused.header("content-type") == "application/json")
            #expect(refused.json?["error"] is String)
            #expect(!refused.bodyText.contains(fixture.directory.path))

            let reindexed = try await eventually { try await Self.sha256(of: node, NodeFixture.tinyID) == newHash }
            #expect(reindexed)
            let answer = try await Client.get(node.baseURL + "/v1/models/download/" + NodeFixture.tinyID)
            #expect(answer.status == 200)
            #expect(answer.header("ETag") == "\"\(newHash)\"")
            #expect(answer.body == bytes)
        }
    }

    /// Same size, new content: a resuming client holding the old ETag gets the whole new
    /// file (200), never a 206 splice of new bytes onto an old partial.
    @Test func sameSizeChangeInvalidatesOldETag() async throws {
        try await withFixtureNode(configure: { $0.rescanIntervalSeconds = 3600 }) { node, fixture in
            let path = fixture.path(NodeFixture.tinyID)
            let oldHash = try #require(try await Self.sha256(of: node, NodeFixture.tinyID))
            var bytes = try fixture.bytes(NodeFixture.tinyID)
            bytes[42] ^= 0x01
            try overwriteInPlace(path, with: bytes)
            let newHash = try ModelFixtures.sha256(of: path)

            let head = try await RawHTTP.head(port: node.port, "/v1/models/download/" + NodeFixture.tinyID)
            #expect(head.status == 409)
            #expect(try await eventually { try await Self.sha256(of: node, NodeFixture.tinyID) == newHash })
            let answer = try await RawHTTP.get(
                port: node.port, "/v1/models/download/" + NodeFixture.tinyID,
                headers: ["Range: bytes=100-", "If-Range: \"\(oldHash)\""])
            #expect(answer.status == 200)
            #expect(answer.body == bytes)
        }
    }

    @Test func addedAndRemovedFilesFollowTheRescan() async throws {
        try await withFixtureNode(configure: { $0.rescanIntervalSeconds = 0.3 }) { node, fixture in
            let hash = try ModelFixtures.writeModel(at: fixture.path("late.gguf"), size: 4321, seed: 77, header: .gguf)
            let appeared = try await eventually { try await Self.sha256(of: node, "late.gguf") == hash }
            #expect(appeared)
            let health = try await Client.json(node.baseURL + "/health")
            #expect(health["models_available"] as? Int == 3)
            let download = try await Client.get(node.baseURL + "/v1/models/download/late.gguf")
            #expect(download.body == (try fixture.bytes("late.gguf")))

            try FileManager.default.removeItem(atPath: fixture.path(NodeFixture.weightsID))
            // Until the rescan notices, a download of the removed file is refused, never a 500.
            let early = try await Client.get(node.baseURL + "/v1/models/download/" + NodeFixture.weightsID)
            #expect(early.status == 409 || early.status == 404)
            #expect(early.json?["error"] is String)
            let gone = try await eventually {
                try await Client.get(node.baseURL + "/v1/models/" + NodeFixture.weightsID).status == 404
            }
            #expect(gone)
            let models = try #require(try await Client.json(node.baseURL + "/v1/models")["models"] as? [[String: Any]])
            #expect(models.compactMap { $0["model_id"] as? String } == ["late.gguf", NodeFixture.tinyID])
            let late = try await Client.get(node.baseURL + "/v1/models/download/" + NodeFixture.weightsID)
            #expect(late.status == 404)
        }
    }

    /// A file replaced while a download streams: the response stops short (the client can
    /// tell), it never completes with bytes of the new file under the old ETag.
    @Test func fileReplacedMidDownloadEndsTheResponseShort() async throws {
        let size = 24 << 20
        try await withFixtureNode(extra: [("moving.gguf", size)], configure: { $0.rescanIntervalSeconds = 3600 }) { node, fixture in
            let port = node.port
            let path = fixture.path("moving.gguf")
            let received = try await RawHTTP.blocking { () throws -> Int in
                let connection = try RawHTTP.Connection(port: port, timeout: 30)
                defer { connection.close() }
                try connection.write(RawHTTP.request("GET", "/v1/models/download/moving.gguf"))
                let head = try connection.readHead()
                #expect(head.status == 200)
                var total = try connection.readBytes(64 * 1024).count
                // Overwrite in place while the server is still streaming.
                var bytes = [UInt8](repeating: 0x5a, count: size)
                bytes[0] = 1
                try overwriteInPlace(path, with: bytes)
                total += try connection.readUntilClosed().count
                return total
            }
            #expect(received < size)
        }
    }
}
