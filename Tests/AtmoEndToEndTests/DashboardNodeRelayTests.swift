import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// `GET /v1/node` (the dashboard's peers and node views) with a real `atmo relay` and a
    /// mesh made by `atmo mesh create` / `join`: the relay connection, its peers and the
    /// mesh membership, as the page shows them.
    @Suite("the dashboard's node view with a relay and a mesh")
    struct DashboardNodeRelay {
        @Test("GET /v1/node lists the relay connected with the other member on it, and the mesh joined")
        func nodeViewShowsTheRelayAndTheMesh() async throws {
            try await withAtmoSandbox { sandbox in
                let relay = try await sandbox.relay(stateDirectory: sandbox.path("relay"))
                try await sandbox.makeMesh(
                    name: "home", relay: relay.url, founderState: sandbox.path("a"), memberStates: [sandbox.path("b")])
                let a = try await sandbox.serve(folders: [], stateDirectory: sandbox.path("a"), name: "a", extraArguments: ["--no-lan"])
                let b = try await sandbox.serve(folders: [], stateDirectory: sandbox.path("b"), name: "b", extraArguments: ["--no-lan"])

                var seen: [String: Any] = [:]
                let clock = ContinuousClock()
                let deadline = clock.now + .seconds(60)
                while clock.now < deadline {
                    if let answer = await HTTPProbe.get(port: a.port, path: NodeAPI.path), answer.status == 200,
                        let object = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
                    {
                        seen = object
                        let relays = object["relays"] as? [[String: Any]] ?? []
                        if relays.contains(where: { $0["state"] as? String == "connected" && ($0["peers"] as? Int ?? 0) >= 1 }) { break }
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
                let relays = seen["relays"] as? [[String: Any]] ?? []
                #expect(relays.count == 1, "\(seen)")
                #expect((relays.first?["url"] as? String)?.hasPrefix(relay.url) == true, "\(relays)")
                #expect(relays.first?["state"] as? String == "connected", "\(relays)")
                #expect((relays.first?["peers"] as? Int ?? 0) >= 1, "b is on the relay too: \(relays)")
                let mesh = seen["mesh"] as? [String: Any]
                #expect(mesh?["name"] as? String == "home", "\(String(describing: mesh))")
                #expect((mesh?["mesh_id"] as? String)?.isEmpty == false, "\(String(describing: mesh))")
                // The same node view from b names the same mesh.
                let fromB = await HTTPProbe.get(port: b.port, path: NodeAPI.path)
                let meshB = (fromB.flatMap { try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any] })?["mesh"] as? [String: Any]
                #expect(meshB?["mesh_id"] as? String == mesh?["mesh_id"] as? String)
            }
        }
    }
}
