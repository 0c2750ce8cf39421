import AsyncHTTPClient
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import AtmoTransfer
import Crypto
import Foundation
import Logging
import Testing

/// `GET`/`HEAD /v1/pieces/{sha256}`: the manifest bytes of an offered file, checkable
/// against its catalog entry; JSON errors otherwise.
struct PieceManifestRouteTests {
    /// 3 MiB and a bit: four pieces of 1 MiB, the last one short.
    static let multiPiece = (name: "multi.gguf", size: 3 << 20 + 4321)

    @Test("the manifest route answers bytes whose SHA-256 is the entry's pieces_sha256, one digest per piece")
    func servesManifest() async throws {
        try await withFixtureNode(extra: [Self.multiPiece]) { node, fixture in
            let models = try #require(try await Client.json(node.baseURL + "/v1/models")["models"] as? [[String: Any]])
            let entry = try #require(models.first { $0["model_id"] as? String == Self.multiPiece.name })
            let sha256 = try #require(entry["sha256"] as? String)
            let piecesSHA256 = try #require(entry["pieces_sha256"] as? String)
            let pieceSize = try #require(entry["piece_size"] as? Int)
            #expect(pieceSize == 1 << 20)

            let answer = try await Client.get(node.baseURL + HTTPAPI.piecesPrefix + sha256)
            #expect(answer.status == 200)
            #expect(answer.header("Content-Type") == "application/octet-stream")
            #expect(answer.header("Content-Length") == String(4 * 32))
            #expect(answer.header("ETag") == "\"\(piecesSHA256)\"")
            #expect(SHA256.hash(data: answer.body).hexString == piecesSHA256)
            // Each digest is that piece's SHA-256.
            let bytes = try fixture.bytes(Self.multiPiece.name)
            let expected = stride(from: 0, to: bytes.count, by: pieceSize).flatMap {
                Array(SHA256.hash(data: bytes[$0..<min(bytes.count, $0 + pieceSize)]))
            }
            #expect(answer.body == expected)

            // HEAD: same status and headers, no body; an upper-case hash names the same file.
            let head = try await Client.send(node.baseURL + HTTPAPI.piecesPrefix + sha256.uppercased(), method: "HEAD")
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == String(4 * 32))
            #expect(head.body.isEmpty)

            // Every entry of the catalog names a manifest the route serves.
            for model in models {
                let file = try await Client.get(node.baseURL + HTTPAPI.piecesPrefix + (model["sha256"] as? String ?? ""))
                #expect(file.status == 200)
                #expect(SHA256.hash(data: file.body).hexString == model["pieces_sha256"] as? String)
            }
        }
    }

    @Test("an unknown SHA-256 is a JSON 404, a malformed one a JSON 400 invalid_sha256")
    func unknownAndMalformed() async throws {
        try await withFixtureNode { node, _ in
            let unknown = try await Client.get(node.baseURL + HTTPAPI.piecesPrefix + String(repeating: "0", count: 64))
            #expect(unknown.status == 404)
            #expect(unknown.header("Content-Type") == "application/json")
            #expect((unknown.json?["error"] as? String)?.contains("no piece manifest") == true)

            for bad in ["abc", String(repeating: "g", count: 64), String(repeating: "a", count: 65)] {
                let answer = try await Client.get(node.baseURL + HTTPAPI.piecesPrefix + bad)
                #expect(answer.status == 400, "\(bad)")
                #expect(answer.header("Content-Type") == "application/json")
                #expect(answer.json?["code"] as? String == "invalid_sha256")
            }
            let head = try await Client.send(node.baseURL + HTTPAPI.piecesPrefix + String(repeating: "1", count: 64), method: "HEAD")
            #expect(head.status == 404)
            #expect(head.body.isEmpty)
        }
    }

    @Test("PeerClient fetches a node's manifest and checks it against the entry")
    func peerClientAgainstNode() async throws {
        try await withFixtureNode(extra: [Self.multiPiece]) { node, fixture in
            let client = PeerClient(
                baseURL: node.baseURL, http: HTTPClient.shared, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            let entry = try #require(try await client.entry(modelID: Self.multiPiece.name))
            let manifest = try #require(try await client.manifest(for: entry))
            #expect(manifest.pieceCount == 4)
            #expect(manifest.fileSize == Int64(Self.multiPiece.size))
            let bytes = try fixture.bytes(Self.multiPiece.name)
            let last = manifest.range(of: 3)
            #expect(manifest.matches(piece: 3, digest: SHA256.hash(data: bytes[Int(last.offset)...])))
            // An entry of another file (another SHA-256): the node has no manifest for it.
            var other = entry
            other.sha256 = String(repeating: "e", count: 64)
            #expect(try await client.manifest(for: other) == nil)
        }
    }
}
