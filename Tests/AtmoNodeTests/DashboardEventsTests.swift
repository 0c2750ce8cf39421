import AsyncHTTPClient
import AtmoProtocol
import AtmoTesting
import Foundation
import NIOCore
import Testing

@testable import AtmoNode

/// `GET /v1/node` and `GET /v1/events` on real nodes: what the node serves while it serves
/// it, a `mesh` event when a peer's catalog arrives, and the bound on event streams.
struct DashboardEventsTests {
    /// The upload is held mid-way by a client that reads the status line and then nothing (a
    /// small receive buffer, so the node's socket fills), not made slow by a rate limit: the
    /// polls of `/v1/node` slow down under load and a loaded run could miss a 4 s upload. The
    /// node does not cut the stalled client (`sendStallTimeout`); the upload ends when the
    /// client reads the rest.
    @Test func nodeListsASlowUploadWhileItRunsAndNotAfter() async throws {
        // Far more than the socket buffers between node and client hold (Linux lets a
        // sender's buffer grow to 4 MiB by default), so the node is still sending.
        let size = 16 << 20
        try await withFixtureNode(
            extra: [(name: "big.gguf", size: size)], configure: { $0.connections.sendStallTimeout = .seconds(600) }
        ) { running, _ in
            let url = running.baseURL + NodeAPI.path
            let idle = try await Client.json(url)
            #expect(idle["node_id"] as? String == running.node.nodeID)
            #expect(idle["node_name"] as? String == running.node.configuration.nodeName)
            #expect((idle["started_at"] as? NSNumber)?.int64Value ?? 0 > 1_700_000_000)
            #expect(idle["http"] as? String == "http://127.0.0.1:\(running.port)")
            #expect((idle["relays"] as? [Any])?.isEmpty == true)
            #expect((idle["direct_links"] as? NSNumber)?.intValue == 0)
            #expect(idle["mesh"] is NSNull, "null, not absent, for a node of no mesh")
            #expect((idle["serving"] as? [Any])?.isEmpty == true)
            #expect((idle["storage"] as? [String: Any])?["used_bytes"] != nil)
            #expect((idle["limits"] as? [String: Any])?["limits"] != nil)

            let client = HeldReader(try StallingReader(port: running.port, receiveBuffer: 16 << 10))
            defer { client.reader.close() }
            let started = try await RawHTTP.blocking {
                try client.reader.get("/v1/models/download/big.gguf")
                return client.reader.readStatus(seconds: 60)
            }
            try #require(started && client.reader.status == 200, "the download did not start")
            var upload: [String: Any] = [:]
            let listed = try await eventually {
                let serving = try await Client.json(url)["serving"] as? [[String: Any]] ?? []
                guard let entry = serving.first(where: { $0["model_id"] as? String == "big.gguf" }),
                    (entry["bytes_sent"] as? NSNumber)?.int64Value ?? 0 > 0
                else { return false }
                upload = entry
                return true
            }
            #expect(listed, "the upload shows in serving while it runs")
            #expect(upload["route"] as? String == "http")
            #expect(upload["peer"] as? String == "127.0.0.1")
            #expect((upload["size_bytes"] as? NSNumber)?.intValue == size)
            #expect((upload["sha256"] as? String)?.count == 64)
            #expect((upload["bytes_sent"] as? NSNumber)?.intValue ?? .max < size, "listed mid-way")

            let (ended, bodyReceived) = try await RawHTTP.blocking { (client.reader.readToEnd(seconds: 120), client.reader.bodyReceived) }
            #expect(ended)
            #expect(bodyReceived == size, "the whole body arrived: \(String(describing: bodyReceived)) body bytes")
            let gone = try await eventually {
                (try await Client.json(url)["serving"] as? [Any])?.isEmpty == true
            }
            #expect(gone, "an upload that ended is no longer listed")
        }
    }

    @Test func aPeersCatalogArrivingSendsAMeshEvent() async throws {
        try await withFixtureNode(configure: { $0.rescanIntervalSeconds = 0.3 }) { b, fixture in
            try await withTemporaryDirectory(prefix: "atmo-events") { folder in
                try await withMeshNode(stateDirectory: folder.path + "/state", folders: [], configure: { $0.mesh.peers = [b.baseURL] }) {
                    a in
                    func aLists(_ modelID: String) async throws -> Bool {
                        try await eventually {
                            let models = try await Client.json(a.baseURL + MeshAPI.modelsPath)["models"] as? [[String: Any]] ?? []
                            return models.contains { ($0["model"] as? [String: Any])?["model_id"] as? String == modelID }
                        }
                    }
                    #expect(try await aLists(NodeFixture.tinyID))
                    let stream = try EventStreamConnection(port: a.port)
                    defer { stream.close() }
                    try await RawHTTP.blocking { try stream.readHead() }
                    #expect(stream.status == 200)
                    #expect(stream.header("Content-Type") == "text/event-stream")
                    let greeted = try await RawHTTP.blocking {
                        try stream.read(until: { $0.contains("event: mesh\n") && $0.contains("event: node\n") })
                    }
                    #expect(greeted, "one mesh and one node event on connect: \(stream.text)")
                    let first = stream.versions("mesh").max() ?? 0

                    // B offers one more model: its new catalog reaches A, whose stream says so.
                    try ModelFixtures.writeModel(at: fixture.path("fresh.gguf"), size: 2_000, seed: 42, header: .gguf)
                    let changed = try await RawHTTP.blocking {
                        try stream.read(until: { _ in (stream.versions("mesh").max() ?? 0) > first })
                    }
                    #expect(changed, "a mesh event follows B's new catalog: \(first) \(stream.versions("mesh")) \(stream.text.suffix(300))")
                    #expect(try await aLists("fresh.gguf"))
                }
            }
        }
    }
}

/// A `StallingReader` used by one blocking call after another, never by two at once.
private final class HeldReader: @unchecked Sendable {
    let reader: StallingReader

    init(_ reader: StallingReader) { self.reader = reader }
}
