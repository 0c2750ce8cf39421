import AtmoProtocol
import AtmoRelayServer
import AtmoStore
import Foundation
import Testing

/// `/health`, `/stats` and the refusals before a WebSocket upgrade.
@Suite struct RelayServerHTTPTests {
    @Test func healthSaysWhatTheRelayIs() async throws {
        try await withRelay { relay in
            let (status, body) = try await relay.get("/health")
            #expect(status == 200)
            let health = try JSONDecoder().decode(RelayHealthReport.self, from: body)
            #expect(health.status == "ok")
            #expect(health.service == "atmo-relay")
            #expect(health.protocolVersion == WireLimits.protocolVersion)
            #expect(health.features == ["binary_direct"])
            #expect(health.uptime >= 0)
        }
    }

    @Test func statsCountMeshesPeersAndTraffic() async throws {
        let keys = MeshKeys.generate()
        try await withRelay { relay in
            let empty = try await relay.stats()
            #expect(empty == RelayStatsReport(.init(), uptime: empty.uptime))
            let founder = relay.connect("founder", meshID: keys.meshID)
            try await founder.registerAsFounder(keys)
            let alice = relay.connect("alice", meshID: "open-mesh")
            try await alice.join(as: "alice", token: nil)
            let bob = relay.connect("bob", meshID: "open-mesh")
            try await bob.join(as: "bob", token: nil)
            let payload: [String: JSONValue] = ["n": .number(1)]
            try bob.send(.broadcast(RelayBroadcast(payload: payload)))
            _ = try await alice.nextMessage { $0.type == "message" }
            let stats = try await relay.stats()
            #expect(stats.meshesRegistered == 1)
            #expect(stats.meshesActive == 2)
            #expect(stats.peers == 3)
            #expect(stats.connections == 3)
            #expect(stats.messagesRelayed == 1)
            #expect(stats.bytesRelayed == UInt64(#"{"n":1}"#.utf8.count))
            let raw = try JSONSerialization.jsonObject(with: try await relay.get("/stats").body) as? [String: Any]
            let names = Set(raw?.keys.map { $0 } ?? [])
            #expect(names.isSuperset(of: ["meshes_registered", "bytes_relayed", "connections_closed"]))
        }
    }

    @Test func badMeshIDsAreRefusedBeforeUpgrading() async throws {
        try await withRelay { relay in
            // A WebSocket upgrade to a bad mesh id fails (HTTP 400), nothing is opened.
            let bad = relay.connect("bad", meshID: "bad!id")
            guard case .failed = try await bad.next() else {
                Issue.record("the upgrade to a bad mesh id was accepted")
                return
            }
            let tooLong = relay.connect("long", meshID: String(repeating: "m", count: 129))
            guard case .failed = try await tooLong.next() else {
                Issue.record("the upgrade to a 129-character mesh id was accepted")
                return
            }
            #expect(try await relay.stats().connections == 0)
            // Plain HTTP says why.
            let (status, body) = try await relay.get("/relay/bad!id")
            #expect(status == 400)
            let error = try JSONDecoder().decode(HTTPAPI.ErrorBody.self, from: body)
            #expect(error.code == "invalid_mesh_id")
            #expect(try await relay.get("/relay/good-mesh").status == 426)
        }
    }
}
