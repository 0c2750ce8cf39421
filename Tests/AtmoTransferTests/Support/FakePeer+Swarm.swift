import AtmoProtocol
import AtmoStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

@testable import AtmoTransfer

extension FakePeer {
    /// A model whose entry names a piece manifest of `pieceSize` pieces; returns the manifest's bytes too.
    static func swarmModel(size: Int = 40 * 64 * 1024 + 123, pieceSize: Int64 = 64 * 1024, seed: UInt8 = 5) -> (ModelEntry, Data, [UInt8]) {
        var (entry, bytes) = PullFailureTests.model(id: "swarm-model", seed: seed, size: size)
        var digests: [UInt8] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + Int(pieceSize))
            digests += Array(SHA256.hash(data: bytes[offset..<end]))
            offset = end
        }
        entry.pieceSize = pieceSize
        entry.piecesSHA256 = SHA256.hash(data: digests).hexString
        return (entry, bytes, digests)
    }

    /// A peer with the whole file and its manifest.
    static func seed(_ model: (ModelEntry, Data, [UInt8]), behaviour: @escaping @Sendable (PieceRequest) -> Answer = { _ in .honest }) -> FakePeer {
        var peer = FakePeer(entry: model.0, bytes: model.1, behaviour: behaviour)
        peer.manifest = model.2
        return peer
    }

    func addSwarmRoutes(to router: Router<BasicRequestContext>) {
        let (entry, manifest, partial) = (self.entry, self.manifest, self.partial)
        router.get("/v1/pieces/:sha256") { _, context in
            guard context.parameters.get("sha256") == entry.sha256, let manifest else {
                return Self.json(#"{"error":"no manifest"}"#, status: .notFound)
            }
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(bytes: manifest)))
        }
        router.get("/v1/pieces/:sha256/have") { _, context in
            guard context.parameters.get("sha256") == entry.sha256, let pieceSize = entry.pieceSize else {
                return Self.json(#"{"error":"none"}"#, status: .notFound)
            }
            let count = PieceManifest.pieceCount(fileSize: entry.sizeBytes, pieceSize: pieceSize)
            let have = partial?.have ?? Bitfield(count: 0)
            let answer = PieceAvailability(
                sha256: entry.sha256, pieceSize: pieceSize, pieceCount: count, complete: partial == nil, have: have.bytes)
            return Self.json(try WireCoding.encode(answer))
        }
    }

    /// The 416 not_held answer of a partial holder for a range it does not hold.
    func notHeldRefusal(offset: Int64, length: Int64) -> Response? {
        guard let partial else { return nil }
        let first = Int(offset / partial.pieceSize)
        let last = Int((offset + length - 1) / partial.pieceSize)
        guard !(first...last).allSatisfy({ partial.have[$0] }) else { return nil }
        var response = Self.json(#"{"error":"not held yet","code":"not_held"}"#, status: .rangeNotSatisfiable)
        response.headers[.contentRange] = "bytes */\(entry.sizeBytes)"
        return response
    }
}
