import AtmoProtocol
import AtmoTesting
import AtmoTransfer
import Foundation
import Logging
import Testing

/// Serving while downloading over HTTP (docs/PROTOCOL.md, "Serving while downloading"): a
/// node pulling a file serves the ranges whose pieces it holds, verified, from its partial
/// file, answers 416 `not_held` for the others, and says which pieces it holds at
/// `/v1/pieces/{sha256}/have`. Pieces 0, 1 and 3 of 5 (64 KiB each) are held; the others
/// read as 0xEE in the partial file.
struct PartialServingTests {
    static let path = "/v1/models/download/" + PartialFixture.modelID
    static let size = PartialFixture.size

    /// (Range header, first byte, last byte) of ranges within held pieces.
    static let heldRanges: [(range: String, first: Int, last: Int)] = [
        ("bytes=0-131071", 0, 131_071),  // pieces 0 and 1 exactly
        ("bytes=100-199", 100, 199),
        ("bytes=200000-210000", 200_000, 210_000),  // inside piece 3
        ("bytes=65000-70000", 65000, 70000),  // across the border of 0 and 1
        ("bytes=196608-262143", 196_608, 262_143),  // piece 3 exactly
    ]

    @Test func aHeldRangeIsServedExactlyWith206() async throws {
        try await withPartialNode(held: [0, 1, 3]) { node, _, partial in
            for (range, first, last) in Self.heldRanges {
                let answer = try await RawHTTP.get(port: node.port, Self.path, headers: ["Range: \(range)"])
                #expect(answer.status == 206, "\(range): \(answer.bodyText.prefix(200))")
                #expect(answer.header("content-range") == "bytes \(first)-\(last)/\(Self.size)", "\(range)")
                #expect(answer.header("content-length") == String(last - first + 1))
                #expect(answer.header("etag") == "\"\(partial.sha256)\"")
                #expect(answer.header("accept-ranges") == "bytes")
                #expect(answer.header("content-type") == "application/octet-stream")
                #expect(answer.header("content-disposition") == #"attachment; filename="growing.gguf""#)
                #expect(answer.body == partial.bytes(first...last), "\(range)")
            }
            // If-Range with this version's ETag: the part.
            let answer = try await RawHTTP.get(
                port: node.port, Self.path, headers: ["Range: bytes=0-9", "If-Range: \"\(partial.sha256)\""])
            #expect(answer.status == 206)
            #expect(answer.body == partial.bytes(0...9))
            // HEAD: the same head, no body.
            let head = try await RawHTTP.head(port: node.port, Self.path, headers: ["Range: bytes=0-9"])
            #expect(head.status == 206)
            #expect(head.header("content-length") == "10")
            #expect(head.body.isEmpty)
            #expect(try await eventually { node.node.ledger.snapshot.bytesServed > 0 })
        }
    }

    /// Ranges touching piece 2 or 4, and requests for the whole file: 416 `not_held` with
    /// `Content-Range: bytes */SIZE`, naming the missing pieces; never a byte of them.
    @Test(arguments: [
        "bytes=100000-140000", "bytes=131072-131072", "bytes=196608-", "bytes=-1000", "bytes=0-99999999999999999999",
        "bytes=0-1,5-6", "bytes=abc", "",
    ])
    func aRangeTouchingAMissingPieceIs416NotHeld(range: String) async throws {
        try await withPartialNode(held: [0, 1, 3]) { node, _, partial in
            let headers = range.isEmpty ? [] : ["Range: \(range)"]
            let answer = try await RawHTTP.get(port: node.port, Self.path, headers: headers)
            #expect(answer.status == 416, "\(range)")
            #expect(answer.header("content-range") == "bytes */\(Self.size)")
            #expect(answer.header("content-type") == "application/json")
            #expect(answer.header("etag") == "\"\(partial.sha256)\"")
            #expect(answer.json?["code"] as? String == "not_held", "\(answer.bodyText)")
            let message = try #require(answer.json?["error"] as? String)
            #expect(message.contains("not held"), "\(message)")
            #expect(!answer.body.contains(0xEE))

            let head = try await RawHTTP.head(port: node.port, Self.path, headers: headers)
            #expect(head.status == 416)
            #expect(head.body.isEmpty)
        }
    }

    @Test func theRefusalNamesTheMissingPieces() async throws {
        try await withPartialNode(held: [0, 3]) { node, _, _ in
            let answer = try await RawHTTP.get(port: node.port, Self.path, headers: ["Range: bytes=0-"])
            let message = try #require(answer.json?["error"] as? String)
            #expect(message.contains("pieces 1-2, 4 of 5"), "\(message)")
        }
    }

    /// Beyond the end: the same 416 as for an installed file (no `not_held` code).
    @Test(arguments: ["bytes=300000-", "bytes=99999999999999999999-", "bytes=-0"])
    func anUnsatisfiableRangeIsThePlain416(range: String) async throws {
        try await withPartialNode(held: [0, 1, 2, 3, 4]) { node, _, _ in
            let answer = try await RawHTTP.get(port: node.port, Self.path, headers: ["Range: \(range)"])
            #expect(answer.status == 416, "\(range)")
            #expect(answer.header("content-range") == "bytes */\(Self.size)")
            #expect(answer.json?["code"] == nil, "\(answer.bodyText)")
        }
    }

    @Test func aPieceVerifiedLaterIsServedThenTheEndIsNotHeldForAWhile() async throws {
        try await withPartialNode(held: [0, 1, 3]) { node, _, partial in
            let offers = node.node.partialOffers
            let range = ["Range: bytes=100000-140000"]
            #expect(try await RawHTTP.get(port: node.port, Self.path, headers: range).status == 416)

            try partial.fill(2)
            offers.pieceVerified(sha256: partial.sha256, index: 2)
            let answer = try await RawHTTP.get(port: node.port, Self.path, headers: range)
            #expect(answer.status == 206)
            #expect(answer.body == partial.bytes(100_000...140_000))

            // Every piece held: the whole file, with 200, even for a suffix range.
            try partial.fill(4)
            offers.pieceVerified(sha256: partial.sha256, index: 4)
            let whole = try await RawHTTP.get(port: node.port, Self.path)
            #expect(whole.status == 200)
            #expect(whole.body == partial.truth)
            let suffix = try await RawHTTP.get(port: node.port, Self.path, headers: ["Range: bytes=-1000"])
            #expect(suffix.status == 206)
            #expect(suffix.body == partial.bytes((Self.size - 1000)...(Self.size - 1)))

            // Ended (installed, the inventory not listing it yet; or stopped): "not held yet"
            // for `PartialOffers.endGrace`, so that consumers wait rather than drop the node.
            offers.end(sha256: partial.sha256)
            let ended = try await RawHTTP.get(port: node.port, Self.path, headers: range)
            #expect(ended.status == 416)
            #expect(ended.json?["code"] as? String == "not_held")
            let have = try await RawHTTP.get(port: node.port, HTTPAPI.piecesPrefix + partial.sha256 + "/have")
            #expect(have.status == 404)
            #expect(have.json?["error"] is String)
        }
    }

    /// A pull that ends while a range of its file streams: the body stops short (the client
    /// can tell), it never goes on reading a file that is no longer the offer's.
    @Test func anOfferEndingMidBodyEndsTheResponseShort() async throws {
        let size = 24 << 20
        try await withFixtureNode { node, fixture in
            let path = fixture.directory.sub("big.part")
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: UInt64(size))
            try handle.close()
            let sha256 = String(repeating: "d", count: 64)
            let entry = ModelEntry(
                modelID: "big.gguf", name: "big", type: "llm", format: "gguf", sizeBytes: Int64(size), sha256: sha256,
                pieceSize: 1 << 20, piecesSHA256: String(repeating: "e", count: 64))
            let manifest = try #require(
                PieceManifest(fileSize: Int64(size), pieceSize: 1 << 20, digests: [UInt8](repeating: 0, count: 24 * 32)))
            let held = Bitfield(count: 24, bytes: [0xff, 0xff, 0xff])
            let offers = node.node.partialOffers
            offers.begin(entry: entry, manifest: manifest, partialPath: path, held: held)
            let port = node.port
            let received = try await RawHTTP.blocking { () throws -> Int in
                let connection = try RawHTTP.Connection(port: port, timeout: 30)
                defer { connection.close() }
                try connection.write(RawHTTP.request("GET", "/v1/models/download/big.gguf", headers: ["Range: bytes=0-"]))
                let head = try connection.readHead()
                #expect(head.status == 206)
                var total = try connection.readBytes(64 * 1024).count
                offers.end(sha256: sha256)
                total += try connection.readUntilClosed().count
                return total
            }
            #expect(received < size)
        }
    }

    /// `If-Range` naming another version: this node has no whole file to send instead, so 409.
    @Test func ifRangeOfAnotherVersionIs409() async throws {
        try await withPartialNode(held: [0, 1, 3]) { node, _, _ in
            let other = "\"" + String(repeating: "0", count: 64) + "\""
            let answer = try await RawHTTP.get(port: node.port, Self.path, headers: ["Range: bytes=0-9", "If-Range: \(other)"])
            #expect(answer.status == 409)
            #expect(answer.json?["error"] is String)
        }
    }

    @Test func haveListsTheHeldPiecesAsABitfield() async throws {
        try await withPartialNode(held: [0, 1, 3]) { node, _, partial in
            let path = HTTPAPI.piecesPrefix + partial.sha256 + "/have"
            let answer = try await RawHTTP.get(port: node.port, path)
            #expect(answer.status == 200)
            #expect(answer.header("content-type") == "application/json")
            let availability = try WireCoding.decode(PieceAvailability.self, from: Data(answer.body))
            #expect(availability.sha256 == partial.sha256)
            #expect(availability.pieceSize == PartialFixture.pieceSize)
            #expect(availability.pieceCount == 5)
            #expect(availability.complete == false)
            #expect(availability.haveBytes == [0b0000_1011])

            try partial.fill(2)
            node.node.partialOffers.pieceVerified(sha256: partial.sha256, index: 2)
            let later = try WireCoding.decode(PieceAvailability.self, from: Data(try await RawHTTP.get(port: node.port, path).body))
            #expect(later.haveBytes == [0b0000_1111])
            // Upper-case hex names the same file.
            #expect(try await RawHTTP.get(port: node.port, HTTPAPI.piecesPrefix + partial.sha256.uppercased() + "/have").status == 200)
        }
    }

    @Test(arguments: ["xyz", String(repeating: "g", count: 64), String(repeating: "a", count: 65), "%2e%2e", "%00"])
    func haveOfGarbageIs400(sha256: String) async throws {
        try await withPartialNode(held: [0]) { node, _, _ in
            let answer = try await RawHTTP.get(port: node.port, HTTPAPI.piecesPrefix + sha256 + "/have")
            #expect(answer.status == 400, "\(sha256)")
            #expect(answer.json?["code"] as? String == "invalid_sha256", "\(answer.bodyText)")
            // Other paths under the prefix are JSON 404s.
            let other = try await RawHTTP.get(port: node.port, HTTPAPI.piecesPrefix + sha256 + "/have/more")
            #expect(other.status == 404)
            #expect(other.json?["error"] is String)
        }
    }

    @Test func haveOfAnUnknownFileIs404AndOfAnInstalledOneComplete() async throws {
        try await withPartialNode(held: [0]) { node, _, _ in
            let unknown = try await RawHTTP.get(port: node.port, HTTPAPI.piecesPrefix + String(repeating: "c", count: 64) + "/have")
            #expect(unknown.status == 404)
            #expect(unknown.json?["error"] is String)

            let installed = try #require(node.node.inventory.item(modelID: NodeFixture.tinyID)?.entry)
            let answer = try await RawHTTP.get(port: node.port, HTTPAPI.piecesPrefix + installed.sha256 + "/have")
            if let pieceSize = installed.pieceSize {
                #expect(answer.status == 200)
                let availability = try WireCoding.decode(PieceAvailability.self, from: Data(answer.body))
                #expect(availability.complete)
                #expect(availability.pieceSize == pieceSize)
                #expect(availability.pieceCount == PieceManifest.pieceCount(fileSize: installed.sizeBytes, pieceSize: pieceSize))
            } else {
                #expect(answer.status == 404)  // an installed file without a manifest
            }
        }
    }

    /// An installed file of the same id is served as before; the offer serves only a
    /// request naming its version.
    @Test func theInventoryWinsUnlessTheRequestNamesThePartialVersion() async throws {
        try await withFixtureNode { node, fixture in
            let folder = fixture.directory.sub("pulling")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let partial = try PartialFixture.make(in: folder, held: [0])
            let installed = try #require(node.node.inventory.item(modelID: NodeFixture.tinyID)?.entry)
            var entry = partial.entry
            entry.modelID = NodeFixture.tinyID
            var held = Bitfield(count: PartialFixture.pieceCount)
            held[0] = true
            node.node.partialOffers.begin(entry: entry, manifest: partial.manifest, partialPath: partial.partialPath, held: held)
            let path = "/v1/models/download/" + NodeFixture.tinyID

            let plain = try await RawHTTP.get(port: node.port, path, headers: ["Range: bytes=0-9"])
            #expect(plain.header("etag") == "\"\(installed.sha256)\"")
            #expect(plain.body == Array(try fixture.bytes(NodeFixture.tinyID)[0...9]))

            let named = try await RawHTTP.get(port: node.port, path, headers: ["Range: bytes=0-9", "If-Range: \"\(partial.sha256)\""])
            #expect(named.status == 206)
            #expect(named.header("etag") == "\"\(partial.sha256)\"")
            #expect(named.body == partial.bytes(0...9))
        }
    }

    /// The consumer's side of the contract: `PeerClient` maps 416 `not_held` to `.notHeld`,
    /// any other 416 stays a protocol violation.
    @Test func peerClientMapsNotHeldToItsOwnCode() async throws {
        try await withPartialNode(held: [0, 1, 3]) { node, _, partial in
            let client = PeerClient(baseURL: node.baseURL, http: .shared, logger: Logger(label: "test"))
            let piece = try await client.fetchPiece(of: partial.entry, offset: 65536, length: 65536) { _ in }
            #expect(Array(piece.readableBytesView) == partial.bytes(65536...131_071))

            let missing = await #expect(throws: TransferError.self) {
                _ = try await client.fetchPiece(of: partial.entry, offset: 131_072, length: 65536) { _ in }
            }
            #expect(missing?.code == .notHeld, "\(String(describing: missing))")

            let beyond = await #expect(throws: TransferError.self) {
                _ = try await client.fetchPiece(of: partial.entry, offset: Int64(Self.size), length: 10) { _ in }
            }
            #expect(beyond?.code == .protocolViolation, "\(String(describing: beyond))")
        }
    }
}
