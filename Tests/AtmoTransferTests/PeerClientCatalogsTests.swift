import AsyncHTTPClient
import AtmoProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Testing

@testable import AtmoTransfer

/// `PeerClient.catalogBundle()`, the one read of a peer's `GET /v1/catalogs` (repository
/// pulls from `--from`, partial holders): the documented 64 MiB bound, not the 8 MiB of
/// one message (hostile dec07h F7); an answer over it named with the bound and the peer
/// (F5); catalogs refused for their depth said, not dropped silently (F6).
@Suite(.serialized)
struct PeerClientCatalogsTests {
    /// Serves `body()` at `/v1/catalogs` on a free loopback port.
    static func withCatalogServer<T: Sendable>(
        status: HTTPResponse.Status = .ok, body: @escaping @Sendable () -> ByteBuffer,
        _ work: @escaping @Sendable (PeerClient) async throws -> T
    ) async throws -> T {
        let router = Router()
        router.get(.init(HTTPAPI.catalogsPath)) { _, _ in
            Response(status: status, body: ResponseBody(byteBuffer: body()))
        }
        return try await withRouterPeer(router, name: "catalog-peer", work)
    }

    /// One valid catalog offering a repository, as JSON text.
    static func catalogJSON() throws -> String {
        let catalog = ModelCatalog(
            nodeID: "node-a", nodeName: "a", timestamp: 1_760_000_000_000, models: [],
            transferEndpoints: .init(http: "http://127.0.0.1:1"))
        return String(decoding: try WireCoding.encode(catalog), as: UTF8.self)
    }

    @Test("an answer over 8 MiB and under 64 MiB is read whole")
    func answerOverOneMessageIsRead() async throws {
        // A mesh of many catalogs passes 8 MiB by itself; padding stands for them here.
        let text = #"{"catalogs":["# + (try Self.catalogJSON()) + "]" + String(repeating: " ", count: 9 << 20) + "}"
        let bundle = try await Self.withCatalogServer(body: { ByteBuffer(string: text) }) { client in
            try await client.catalogBundle()
        }
        #expect(bundle.catalogs.map(\.nodeID) == ["node-a"])
    }

    @Test("an answer over 64 MiB is a peer_error naming the peer and the bound")
    func answerOverTheBoundIsNamed() async throws {
        let huge = ByteBuffer(repeating: UInt8(ascii: " "), count: WireLimits.maxCatalogBundleBytes + (1 << 20))
        let error = try await Self.withCatalogServer(body: { huge }) { client -> TransferError? in
            do throws(TransferError) {
                _ = try await client.catalogBundle()
                return nil
            } catch {
                #expect(error.message.contains(client.baseURL), "\(error.message)")
                return error
            }
        }
        #expect(error?.code == .peerError, "\(String(describing: error))")
        #expect(error?.message.contains("64 MiB") == true, "\(String(describing: error))")
        #expect(error?.message.contains("NIOTooManyBytesError") == false, "\(String(describing: error))")
        // The bounded read's own error is kept, as `underlying` (review dec08).
        #expect((error?.underlying).map { $0 is NIOTooManyBytesError } == true, "\(String(describing: error?.underlying))")
    }

    @Test("a catalog nested too deep is refused and its reason says so")
    func deepCatalogIsSaid() async throws {
        let deep =
            #"{"catalogs":[\#(try Self.catalogJSON()),"# + String(repeating: "[", count: 100_000)
            + String(repeating: "]", count: 100_000) + "]}"
        let bundle = try await Self.withCatalogServer(body: { ByteBuffer(string: deep) }) { client in
            try await client.catalogBundle()
        }
        #expect(bundle.catalogs.map(\.nodeID) == ["node-a"])
        #expect(bundle.rejected.count == 1)
        #expect(bundle.rejected.first?.message.contains("nests more than \(WireLimits.maxJSONDepth) levels") == true, "\(bundle.rejected)")
    }

    @Test("an unreadable answer is a protocol violation; a 404 is not offered")
    func unreadableAndMissing() async throws {
        let truncated = try await Self.withCatalogServer(body: { ByteBuffer(string: #"{"catalogs":[{"type":"model_catalog""#) }) {
            client -> TransferError? in
            do throws(TransferError) {
                _ = try await client.catalogBundle()
                return nil
            } catch { return error }
        }
        #expect(truncated?.code == .protocolViolation, "\(String(describing: truncated))")
        let missing = try await Self.withCatalogServer(status: .notFound, body: { ByteBuffer(string: #"{"error":"no"}"#) }) {
            client -> TransferError? in
            do throws(TransferError) {
                _ = try await client.catalogBundle()
                return nil
            } catch { return error }
        }
        #expect(missing?.code == .notOffered, "\(String(describing: missing))")
    }

    @Test("ErrorMapping maps a bounded read's NIOTooManyBytesError as the peer's failure")
    func tooManyBytesIsThePeers() {
        #expect(ErrorMapping.map(NIOTooManyBytesError(maxBytes: 8)).code == .peerError)
        let named = PeerClient.connectionError(NIOTooManyBytesError(maxBytes: 8), peer: "http://peer:1")
        #expect(named.code == .peerError && named.message.contains("http://peer:1") && named.message.contains("over 8 MiB"), "\(named)")
    }
}
