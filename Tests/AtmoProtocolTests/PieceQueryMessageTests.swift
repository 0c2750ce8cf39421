import Foundation
import Testing

@testable import AtmoProtocol

/// The piece query messages (`piece_query`, `piece_have`, `piece_manifest`,
/// `piece_unavailable`; docs/PROTOCOL.md §8): exact wire form, and bounds on every number
/// and length a peer sends.
struct PieceQueryMessageTests {
    static func manifest(pieces: Int, pieceSize: Int64 = 1 << 20) -> PieceManifest {
        let digests = (0..<(pieces * PieceManifest.digestSize)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 5) }
        return PieceManifest(fileSize: Int64(pieces) * pieceSize, pieceSize: pieceSize, digests: digests)!
    }

    static func part(pieceSize: Int64 = 1 << 20, count: Int = 4, first: Int = 0, digests: String) -> String {
        """
        {"type":"piece_manifest","request_id":"q1","sha256":"\(Fixtures.sha)","piece_size":\(pieceSize),\
        "piece_count":\(count),"first_piece":\(first),"digests":"\(digests)"}
        """
    }

    static func base64(digests: Int) -> String { Data(repeating: 7, count: digests * PieceManifest.digestSize).base64EncodedString() }

    @Test func aQueryEncodesExactlyAndDecodes() throws {
        let query = PieceQuery(requestID: Fixtures.requestID, requesterNodeID: "a1b2c3d4e5f60718", sha256: Fixtures.sha, kind: .manifest)
        let expected = """
            {"kind":"manifest","request_id":"\(Fixtures.requestID)","requester_node_id":"a1b2c3d4e5f60718",\
            "sha256":"\(Fixtures.sha)","type":"piece_query"}
            """
        #expect(try Fixtures.encodedText(query) == expected)
        #expect(try Fixtures.decode(PieceQuery.self, expected) == query)
        let upper = expected.replacingOccurrences(of: Fixtures.sha, with: Fixtures.sha.uppercased())
        #expect(try Fixtures.decode(PieceQuery.self, upper).sha256 == Fixtures.sha)
    }

    @Test func aQueryWithABadFieldIsRefused() {
        let base = #"{"type":"piece_query","request_id":"q","requester_node_id":"n","sha256":"\#(Fixtures.sha)","kind":"have"}"#
        #expect(Fixtures.wireError(PieceQuery.self, base.replacingOccurrences(of: #""have""#, with: #""everything""#)) != nil)
        #expect(Fixtures.wireError(PieceQuery.self, base.replacingOccurrences(of: #""q""#, with: "\"\(String(repeating: "q", count: 65))\"")) != nil)
        #expect(Fixtures.wireError(PieceQuery.self, base.replacingOccurrences(of: #""q""#, with: #""a b""#)) != nil)
        #expect(Fixtures.wireError(PieceQuery.self, base.replacingOccurrences(of: Fixtures.sha, with: "abc"))?.code == .invalidSHA256)
        #expect(Fixtures.wireError(PieceQuery.self, base.replacingOccurrences(of: #""requester_node_id":"n","#, with: ""))?.code == .missingField)
    }

    @Test func haveCarriesTheFieldsOfTheHTTPAnswer() throws {
        let have = PieceHave(
            requestID: "q2", availability: PieceAvailability(sha256: Fixtures.sha, pieceSize: 1 << 20, pieceCount: 10, complete: false, have: [0b1011, 0b10]))
        let expected = """
            {"complete":false,"have":"CwI=","piece_count":10,"piece_size":1048576,"request_id":"q2","sha256":"\(Fixtures.sha)",\
            "type":"piece_have"}
            """
        #expect(try Fixtures.encodedText(have) == expected)
        let decoded = try Fixtures.decode(PieceHave.self, expected)
        #expect(decoded == have)
        #expect(decoded.availability.haveBytes == [0b1011, 0b10])
        #expect(Fixtures.wireError(PieceHave.self, expected.replacingOccurrences(of: "1048576", with: "1000000")) != nil)
        #expect(Fixtures.wireError(PieceHave.self, expected.replacingOccurrences(of: "\"piece_count\":10", with: "\"piece_count\":2000000"))?.code == .tooLarge)
    }

    @Test func theBitfieldOfAManifestOfManyPiecesIsRead() throws {
        // 100,000 pieces: a `have` of 16,668 base64 characters, over the 4 KiB of plain strings.
        let bits = (0..<12_500).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let have = PieceHave(
            requestID: "q", availability: PieceAvailability(sha256: Fixtures.sha, pieceSize: 1 << 16, pieceCount: 100_000, complete: false, have: bits))
        let decoded = try Fixtures.decode(PieceHave.self, try Fixtures.encodedText(have))
        #expect(decoded.availability.haveBytes == bits)
        // Longer than the bitfield of the most pieces a manifest may have: refused.
        let over = try Fixtures.encodedText(have).replacingOccurrences(
            of: have.availability.have, with: String(repeating: "A", count: 180_000))
        #expect(Fixtures.wireError(PieceHave.self, over)?.code == .tooLarge)
    }

    @Test func aManifestOf2048PiecesIsOnePartThatFitsAOneMebibyteRelayFrame() throws {
        let manifest = Self.manifest(pieces: 2048)
        let parts = PieceManifestPart.parts(of: manifest, sha256: Fixtures.sha, requestID: Fixtures.requestID)
        #expect(parts.count == 1)
        #expect(parts[0].digests == manifest.digests && parts[0].firstPiece == 0 && parts[0].pieceCount == 2048)
        let text = try Fixtures.encodedText(parts[0])
        #expect(try Fixtures.decode(PieceManifestPart.self, text) == parts[0])
        // The largest part, in its relay envelope, stays far under the relays' 1 MiB text frames.
        let largest = PieceManifestPart.parts(of: Self.manifest(pieces: PieceQueryLimits.maxDigestsPerPart), sha256: Fixtures.sha, requestID: "r")
        #expect(largest.count == 1)
        let payload = try JSONDecoder().decode([String: JSONValue].self, from: WireCoding.encode(largest[0]))
        let frame = try WireCoding.encode(RelayDirect(target: String(repeating: "n", count: 128), payload: payload))
        #expect(frame.count < 400 * 1024, "\(frame.count) bytes")
    }

    @Test func aLargeManifestIsSplitInOrderedPartsThatReassemble() throws {
        let manifest = Self.manifest(pieces: 20_000, pieceSize: 1 << 16)
        let parts = PieceManifestPart.parts(of: manifest, sha256: Fixtures.sha, requestID: "r")
        #expect(parts.map(\.firstPiece) == [0, 8192, 16_384])
        #expect(parts.map(\.digestCount) == [8192, 8192, 3616])
        var bytes: [UInt8] = []
        for part in parts {
            let decoded = try Fixtures.decode(PieceManifestPart.self, try Fixtures.encodedText(part))
            #expect(decoded.firstPiece * PieceManifest.digestSize == bytes.count)
            bytes += decoded.digests
        }
        #expect(bytes == manifest.digests)
    }

    @Test func anEmptyManifestIsOneEmptyPart() throws {
        let empty = PieceManifest(fileSize: 0, pieceSize: 1 << 20, digests: [])!
        let parts = PieceManifestPart.parts(of: empty, sha256: Fixtures.sha, requestID: "r")
        #expect(parts.count == 1 && parts[0].digests.isEmpty && parts[0].pieceCount == 0)
        #expect(try Fixtures.decode(PieceManifestPart.self, try Fixtures.encodedText(parts[0])) == parts[0])
    }

    @Test func everyNumberAndLengthOfAPartIsBounded() {
        // Well formed: 2 digests from piece 2 of 4.
        #expect(throws: Never.self) { try Fixtures.decode(PieceManifestPart.self, Self.part(first: 2, digests: Self.base64(digests: 2))) }
        // More digests than pieces remain; beyond the piece count; not whole digests; none.
        #expect(Fixtures.wireError(PieceManifestPart.self, Self.part(first: 3, digests: Self.base64(digests: 2))) != nil)
        #expect(Fixtures.wireError(PieceManifestPart.self, Self.part(first: 4, digests: Self.base64(digests: 1))) != nil)
        #expect(Fixtures.wireError(PieceManifestPart.self, Self.part(first: -1, digests: Self.base64(digests: 1))) != nil)
        #expect(Fixtures.wireError(PieceManifestPart.self, Self.part(digests: Data(repeating: 1, count: 33).base64EncodedString())) != nil)
        #expect(Fixtures.wireError(PieceManifestPart.self, Self.part(digests: "")) != nil)
        #expect(Fixtures.wireError(PieceManifestPart.self, Self.part(digests: "not base64!")) != nil)
        // Piece sizes and counts out of bounds.
        #expect(Fixtures.wireError(PieceManifestPart.self, Self.part(pieceSize: 3 << 20, digests: Self.base64(digests: 1))) != nil)
        #expect(Fixtures.wireError(PieceManifestPart.self, Self.part(pieceSize: 1 << 27, digests: Self.base64(digests: 1))) != nil)
        let huge = Self.part(count: PieceManifest.maxPieceCount + 1, digests: Self.base64(digests: 1))
        #expect(Fixtures.wireError(PieceManifestPart.self, huge)?.code == .tooLarge)
        // A part over 8192 digests is refused before its base64 is decoded.
        let over = Self.part(count: 100_000, digests: Self.base64(digests: PieceQueryLimits.maxDigestsPerPart + 1))
        #expect(Fixtures.wireError(PieceManifestPart.self, over)?.code == .tooLarge)
    }

    @Test func theExtensionTypesAreUnknownToTheOlderDispatchAndRecognisedHere() throws {
        let unavailable = PieceUnavailable(requestID: "q3", sha256: Fixtures.sha, message: "none here")
        let data = try WireCoding.encode(unavailable)
        // What an older node sees: a type it does not know, never an error.
        guard case .unknown(let type, _) = try WireCoding.decodeMessage(data) else {
            Issue.record("piece_unavailable should be an unknown type to the older dispatch")
            return
        }
        #expect(type == "piece_unavailable")
        #expect(try PieceQueryMessage.decode(type: type, from: data) == .unavailable(unavailable))
        #expect(try PieceQueryMessage.decode(type: "model_request", from: data) == nil)
        #expect(PieceQueryMessage.types == ["piece_query", "piece_have", "piece_manifest", "piece_unavailable"])
    }
}
