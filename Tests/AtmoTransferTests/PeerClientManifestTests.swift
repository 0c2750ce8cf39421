import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

@testable import AtmoTransfer

/// `PeerClient.manifest(for:)`: a manifest is used only when it matches the entry; a peer
/// that lies about it is a protocol violation naming the peer, a peer without one is nil.
struct PeerClientManifestTests {
    /// An entry of 5 pieces of 64 KiB (the last short) and its honest manifest.
    static func model() -> (entry: ModelEntry, manifest: [UInt8]) {
        let size = 4 * 65_536 + 1000
        let digests = (0..<5).flatMap { index in
            let length = min(65_536, size - index * 65_536)
            return Array(SHA256.hash(data: [UInt8](repeating: UInt8(index), count: length)))
        }
        let entry = ModelEntry(
            modelID: "m.gguf", name: "m", type: "llm", format: "gguf", sizeBytes: Int64(size),
            sha256: String(repeating: "ab", count: 32), pieceSize: 65_536, piecesSHA256: SHA256.hash(data: digests).hexString)
        return (entry, digests)
    }

    final class Requests: Sendable {
        let count = Atomic<Int>(0)
    }

    /// Serves `body` with `status` at `/v1/pieces/{sha256}` on a free loopback port.
    static func withManifestServer<T: Sendable>(
        status: HTTPResponse.Status = .ok, body: [UInt8], requests: Requests = Requests(),
        _ work: @escaping @Sendable (PeerClient) async throws -> T
    ) async throws -> T {
        let router = Router()
        router.get("/v1/pieces/:sha256") { _, _ in
            requests.count.add(1, ordering: .relaxed)
            return Response(status: status, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        return try await withRouterPeer(router, name: "manifest-peer", work)
    }

    @Test("an honest manifest is returned")
    func honest() async throws {
        let (entry, digests) = Self.model()
        let manifest = try await Self.withManifestServer(body: digests) { client in try await client.manifest(for: entry) }
        #expect(manifest?.digests == digests)
        #expect(manifest?.pieceCount == 5)
    }

    @Test(
        "a manifest that does not match the entry is a protocol violation naming the peer",
        arguments: ["flipped", "short", "long", "huge", "empty"])
    func lying(kind: String) async throws {
        let (entry, digests) = Self.model()
        var body = digests
        switch kind {
        case "flipped": body[70] ^= 0x01
        case "short": body.removeLast(32)
        case "long": body += Array(repeating: 0, count: 32)
        case "huge": body += Array(repeating: 0, count: PeerClient.manifestBodySlack + 1)
        default: body = []
        }
        let error = try await Self.withManifestServer(body: body) { client in
            do {
                _ = try await client.manifest(for: entry)
                return nil as TransferError?
            } catch let error as TransferError {
                #expect(error.message.contains(client.baseURL), "\(error.message)")
                return error
            }
        }
        #expect(error?.code == .protocolViolation, "\(kind): \(String(describing: error))")
    }

    @Test("no manifest: nil for a 404 or an entry that names none (not even asked)")
    func absent() async throws {
        let (entry, digests) = Self.model()
        let missing = try await Self.withManifestServer(status: .notFound, body: Array(#"{"error":"no"}"#.utf8)) { client in
            try await client.manifest(for: entry)
        }
        #expect(missing == nil)
        var bare = entry
        bare.pieceSize = nil
        bare.piecesSHA256 = nil
        let noManifest = bare
        let requests = Requests()
        let none = try await Self.withManifestServer(body: digests, requests: requests) { client in try await client.manifest(for: noManifest) }
        #expect(none == nil)
        #expect(requests.count.load(ordering: .relaxed) == 0)
    }

    @Test("another failure status is an error, not a manifest")
    func serverError() async throws {
        let (entry, _) = Self.model()
        let error = try await Self.withManifestServer(status: .internalServerError, body: Array(#"{"error":"boom"}"#.utf8)) { client in
            do {
                _ = try await client.manifest(for: entry)
                return nil as TransferError?
            } catch let error as TransferError {
                return error
            }
        }
        #expect(error != nil)
        #expect(error?.code != .protocolViolation)
    }
}
