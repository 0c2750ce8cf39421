import AtmoNode
import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

/// A peer's `/health` probe waits `MeshConfiguration.probeTimeout` for its whole answer
/// (`--probe-timeout`, `"probe_timeout"` in config.json; 10 s by default), where it waited a
/// fixed 10 s (the mesh client's deadline).
@Suite("probe timeout setting")
struct ProbeTimeoutSettingTests {
    @Test("config.json's probe_timeout reaches the node's configuration, brought within 0.5-60 s")
    func theConfigFileSetsIt() throws {
        var configuration = NodeConfiguration.defaults(environment: [:], home: "/nonexistent")
        #expect(configuration.mesh.probeTimeout == .seconds(10))
        let cases: [(String, Duration)] = [
            (#"{"probe_timeout": 2.5}"#, .milliseconds(2500)), (#"{"probe_timeout": 0}"#, .milliseconds(500)),
            (#"{"probe_timeout": -4}"#, .milliseconds(500)), (#"{"probe_timeout": 1e9}"#, .seconds(60)),
            (#"{"node_name": "x"}"#, .seconds(60)),
        ]
        for (json, expected) in cases {
            let file = try JSONDecoder().decode(NodeConfigFile.self, from: Data(json.utf8))
            file.apply(to: &configuration)
            #expect(configuration.mesh.probeTimeout == expected, "\(json)")
        }
    }

    @Test("a configured peer whose /health answers whole but 6 s late times out under a 1 s probe timeout")
    func theProbeWaitsTheTimeoutSet() async throws {
        let answer = HTTPAPI.Health(
            modelsAvailable: 0, httpPort: 0, nodeID: "late-peer-0001", nodeName: "late", activeTransfers: 0, modelsHashing: 0)
        let health = try WireCoding.encode(answer)
        // The head and the body's first byte at once, the rest 6 s later: whole within the
        // default 10 s, never within 1 s (a loaded CI machine fired a 1 s timeout 3.8 s late).
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(health.count)\r\nConnection: close\r\n\r\n"
        let server = try await OneRequestHTTPServer { _ in
            .init(bytes: Array(head.utf8) + [health[0]], later: (.seconds(6), Array(health.dropFirst())))
        }
        do {
            try await withTemporaryDirectory { directory in
                try await withMeshNode(stateDirectory: directory.sub("node"), folders: []) { configuration in
                    configuration.mesh.peers = [server.baseURL]
                    configuration.mesh.probeInterval = .milliseconds(300)
                    configuration.mesh.probeTimeout = .seconds(1)
                } _: { running in
                    // Until the first probe has ended, either way (answered: the address has a node id).
                    var seen: MeshAPI.Peer? = nil
                    _ = try await eventually(timeout: .seconds(60)) {
                        let list = await HTTPProbe.getJSON(MeshAPI.PeerList.self, port: running.port, path: MeshAPI.peersPath)
                        seen = list?.peers.first { $0.http == server.baseURL && ($0.probeError != nil || !$0.nodeID.isEmpty) }
                        return seen != nil
                    }
                    let peer = try #require(seen, "the configured peer's probe never ended")
                    #expect(peer.probeError == MeshAPI.Peer.probeTimedOut && peer.nodeID.isEmpty, "\(peer)")
                }
            }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
