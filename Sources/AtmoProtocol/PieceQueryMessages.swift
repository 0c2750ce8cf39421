import Foundation

/// **Extension** (docs/PROTOCOL.md §8, "Piece queries"): what `GET /v1/pieces/{sha256}` and
/// `GET /v1/pieces/{sha256}/have` answer over HTTP, asked over a relay (inside `direct`
/// payloads) or a node's own WebSocket endpoint. A consumer sends a `piece_query`; the
/// provider answers `piece_have`, the manifest as one or more `piece_manifest` parts, or
/// `piece_unavailable`. Relays pass them as any other payload; a node that predates them
/// ignores them (an unknown `type`), so a consumer asks only nodes that joined the relay
/// with the `piece_queries` capability, and gives up after a timeout.
public enum PieceQueryLimits {
    /// The relay capability of a node that answers piece queries.
    public static let capability = "piece_queries"
    /// Digests in one `piece_manifest` part: 256 KiB of digests, about 342 KiB of base64,
    /// well inside the relays' 1 MiB text frames. A manifest of 2048 pieces is one part.
    public static let maxDigestsPerPart = 8192
    /// Longest `request_id` (a uuid is 36 characters).
    public static let maxRequestIDLength = 64

    /// A request id: 1-64 printable ASCII characters without spaces (a node id's characters).
    public static func isValidRequestID(_ id: String) -> Bool {
        id.utf8.count <= maxRequestIDLength && Validation.isValidNodeID(id)
    }
}

/// `piece_query`: which pieces of a file the receiver holds (`kind: "have"`), or its piece
/// manifest (`kind: "manifest"`), named by the file's whole-file SHA-256.
public struct PieceQuery: Sendable, Hashable, Codable {
    public static let messageType = "piece_query"

    public enum Kind: String, Sendable, Hashable {
        case have
        case manifest
    }

    public var requestID: String
    /// `requester_node_id`: who asks (on a node's own WebSocket, the first message names the peer).
    public var requesterNodeID: String
    public var sha256: String
    public var kind: Kind
    public var extra: [String: JSONValue]

    public init(requestID: String, requesterNodeID: String, sha256: String, kind: Kind, extra: [String: JSONValue] = [:]) {
        self.requestID = requestID
        self.requesterNodeID = requesterNodeID
        self.sha256 = sha256
        self.kind = kind
        self.extra = extra
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        requestID = try reader.requestID()
        requesterNodeID = try reader.nodeID("requester_node_id")
        sha256 = try reader.sha256("sha256")
        let kind = try reader.string("kind")
        guard let known = Kind(rawValue: kind) else { throw reader.fail("kind", "kind must be \"have\" or \"manifest\"") }
        self.kind = known
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("request_id", requestID)
        try writer.write("requester_node_id", requesterNodeID)
        try writer.write("sha256", sha256)
        try writer.write("kind", kind.rawValue)
        try writer.finish(extra: extra)
    }
}

/// `piece_have`: the answer to a `have` query, with the fields of `/have`'s JSON answer
/// (`sha256`, `piece_size`, `piece_count`, `complete`, `have`).
public struct PieceHave: Sendable, Hashable, Codable {
    public static let messageType = "piece_have"

    public var requestID: String
    public var availability: PieceAvailability

    public init(requestID: String, availability: PieceAvailability) {
        self.requestID = requestID
        self.availability = availability
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        requestID = try reader.requestID()
        availability = try PieceAvailability(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try availability.encode(to: encoder)
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("request_id", requestID)
    }
}

/// `piece_manifest`: one part of a manifest, the digests of pieces `first_piece ..<
/// first_piece + n` (n = decoded `digests` bytes / 32, 1 to `maxDigestsPerPart`). Parts are
/// sent in order; the last one reaches `piece_count`. An empty manifest is one part with no
/// digests.
public struct PieceManifestPart: Sendable, Hashable, Codable {
    public static let messageType = "piece_manifest"

    public var requestID: String
    public var sha256: String
    public var pieceSize: Int64
    public var pieceCount: Int
    public var firstPiece: Int
    /// The concatenated digests of this part's pieces.
    public var digests: [UInt8]

    public init(requestID: String, sha256: String, pieceSize: Int64, pieceCount: Int, firstPiece: Int, digests: [UInt8]) {
        self.requestID = requestID
        self.sha256 = sha256
        self.pieceSize = pieceSize
        self.pieceCount = pieceCount
        self.firstPiece = firstPiece
        self.digests = digests
    }

    /// The parts of `manifest`, in order, for the query `requestID` about `sha256`.
    public static func parts(of manifest: PieceManifest, sha256: String, requestID: String) -> [PieceManifestPart] {
        let step = PieceQueryLimits.maxDigestsPerPart
        let starts = manifest.pieceCount == 0 ? [0] : Array(stride(from: 0, to: manifest.pieceCount, by: step))
        return starts.map { first in
            let end = min(first + step, manifest.pieceCount)
            return PieceManifestPart(
                requestID: requestID, sha256: sha256, pieceSize: manifest.pieceSize, pieceCount: manifest.pieceCount,
                firstPiece: first, digests: Array(manifest.digests[(first * PieceManifest.digestSize)..<(end * PieceManifest.digestSize)]))
        }
    }

    /// Pieces this part covers.
    public var digestCount: Int { digests.count / PieceManifest.digestSize }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        requestID = try reader.requestID()
        sha256 = try reader.sha256("sha256")
        pieceSize = try reader.byteCount("piece_size")
        guard PieceManifest.isValidPieceSize(pieceSize) else {
            throw reader.fail("piece_size", "must be a power of two from 64 KiB to 64 MiB")
        }
        let count = try reader.byteCount("piece_count")
        guard count <= PieceManifest.maxPieceCount else {
            throw reader.fail("piece_count", .tooLarge, "more than \(PieceManifest.maxPieceCount) pieces")
        }
        pieceCount = Int(count)
        let first = try reader.byteCount("first_piece")
        guard first == 0 || first < count else { throw reader.fail("first_piece", "must be below piece_count") }
        firstPiece = Int(first)
        // Bounded before it is decoded: at most a part's digests in base64.
        let maxBytes = PieceQueryLimits.maxDigestsPerPart * PieceManifest.digestSize
        guard let text = try reader.decode(String.self, "digests") else { throw reader.fail("digests", .missingField, "missing required field") }
        guard text.utf8.count <= (maxBytes + 2) / 3 * 4 else { throw reader.fail("digests", .tooLarge, "more than \(maxBytes) bytes") }
        guard Validation.isStrictBase64(text), let data = Data(base64Encoded: text) else {
            throw reader.fail("digests", "digests is not valid base64")
        }
        guard data.count % PieceManifest.digestSize == 0, data.count / PieceManifest.digestSize <= pieceCount - firstPiece,
            !data.isEmpty || pieceCount == 0
        else {
            throw reader.fail("digests", "must be 1 to \(pieceCount - firstPiece) whole 32-byte digests")
        }
        digests = [UInt8](data)
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("request_id", requestID)
        try writer.write("sha256", sha256)
        try writer.write("piece_size", pieceSize)
        try writer.write("piece_count", Int64(pieceCount))
        try writer.write("first_piece", Int64(firstPiece))
        try writer.write("digests", Data(digests).base64EncodedString())
        try writer.finish(extra: [:])
    }
}

/// `piece_unavailable`: the receiver holds no piece of the file (`have`), or no manifest
/// for it (`manifest`): what a 404 says over HTTP.
public struct PieceUnavailable: Sendable, Hashable, Codable {
    public static let messageType = "piece_unavailable"

    public var requestID: String
    public var sha256: String
    public var message: String

    public init(requestID: String, sha256: String, message: String) {
        self.requestID = requestID
        self.sha256 = sha256
        self.message = message
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        requestID = try reader.requestID()
        sha256 = try reader.sha256("sha256")
        message = try reader.optionalString("message") ?? ""
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("request_id", requestID)
        try writer.write("sha256", sha256)
        try writer.write("message", message)
        try writer.finish(extra: [:])
    }
}

/// A piece query message, recognised by its `type` (`WireCoding.decodeMessage` keeps these
/// as `.unknown`, as a node that predates them does).
public enum PieceQueryMessage: Sendable, Hashable {
    case query(PieceQuery)
    case have(PieceHave)
    case manifestPart(PieceManifestPart)
    case unavailable(PieceUnavailable)

    /// The types of this extension.
    public static let types: Set<String> = [
        PieceQuery.messageType, PieceHave.messageType, PieceManifestPart.messageType, PieceUnavailable.messageType,
    ]

    public var requestID: String {
        switch self {
        case .query(let value): value.requestID
        case .have(let value): value.requestID
        case .manifestPart(let value): value.requestID
        case .unavailable(let value): value.requestID
        }
    }

    /// The message in `data` when its `type` is one of `types`; nil for any other type.
    /// Throws `WireError` for one of these types with invalid fields.
    public static func decode(type: String, from data: Data) throws(WireError) -> PieceQueryMessage? {
        switch type {
        case PieceQuery.messageType: .query(try WireCoding.decode(PieceQuery.self, from: data))
        case PieceHave.messageType: .have(try WireCoding.decode(PieceHave.self, from: data))
        case PieceManifestPart.messageType: .manifestPart(try WireCoding.decode(PieceManifestPart.self, from: data))
        case PieceUnavailable.messageType: .unavailable(try WireCoding.decode(PieceUnavailable.self, from: data))
        default: nil
        }
    }
}

extension FieldReader {
    /// `request_id`, checked by `PieceQueryLimits.isValidRequestID`.
    mutating func requestID(_ name: String = "request_id") throws -> String {
        let value = try string(name)
        guard PieceQueryLimits.isValidRequestID(value) else {
            throw fail(name, "\(name) must be 1-\(PieceQueryLimits.maxRequestIDLength) printable ASCII characters without spaces")
        }
        return value
    }
}
