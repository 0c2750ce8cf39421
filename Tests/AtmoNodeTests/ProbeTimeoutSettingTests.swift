import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

/// A peer's `/health` probe waits `MeshConfiguration.probeTimeout` for its whole answer
/// (`--probe-timeout`, `"probe_timeout"` in config.json; 10 s by default), where it waited a
/// fixed 10 s (the mesh client's deadline, then its HTTP client's read timeout).
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

    @Test("a catalog exchange gets 10 s, or the probe timeout when longer; the mesh client's read timeout never ends one sooner")
    func theCatalogBoundFollowsALongerProbeTimeout() {
        #expect(MeshClient.catalogTimeout(probeTimeout: .seconds(1)) == .seconds(10))
        #expect(MeshClient.catalogTimeout(probeTimeout: .seconds(10)) == .seconds(10))
        #expect(MeshClient.catalogTimeout(probeTimeout: .milliseconds(45_500)) == .milliseconds(45_500))
        for probeTimeout: Duration in [.milliseconds(500), .seconds(10), .seconds(30), .seconds(60)] {
            let timeouts = MeshClient.httpConfiguration(probeTimeout: probeTimeout).timeout
            let longest = MeshClient.catalogTimeout(probeTimeout: probeTimeout)
            // No read timeout of its own (nil) or one at least as long: only the exchange's deadline ends it.
            #expect(timeouts.read.map { $0 >= longest } ?? true, "probe timeout \(probeTimeout): \(timeouts)")
            // Connecting: 3 s (a dropped host is seen soon), as long as the rest once a probe
            // timeout above 10 s says the links are slow.
            let connect = probeTimeout > .seconds(10) ? longest : MeshClient.defaultConnectTimeout
            #expect(timeouts.connect == connect, "probe timeout \(probeTimeout): \(timeouts)")
        }
    }

    /// How a configured peer's `/health` answers: the head and the body's first byte at once,
    /// the rest in `parts` pieces `every` apart; and the first probe's outcome the node must show.
    struct LateAnswer: Sendable, CustomTestStringConvertible {
        var probeTimeout: Duration
        var every: Duration
        var parts: Int
        var timesOut: Bool
        var testDescription: String { "probe timeout \(probeTimeout), answer whole after \(every * parts)" }
    }

    /// Told apart by behaviour, not by how late a short timer fires (a loaded CI machine fired
    /// a 1 s timeout 3.8 s late): a 30 s setting lets a probe wait for an answer that is whole
    /// after 12.5 s (five parts 2.5 s apart), which the 10 s default would have cut; a 30 s
    /// setting also waits out a peer silent for 15 s after the head and first body byte (the
    /// mesh client's own 10 s read timeout cut it, whatever the setting said); and a 1 s
    /// setting times out an answer whose rest comes 30 s later.
    @Test(
        "a configured peer's late /health: answered under a 30 s probe timeout, timed out under 1 s",
        arguments: [
            LateAnswer(probeTimeout: .seconds(30), every: .milliseconds(2500), parts: 5, timesOut: false),
            LateAnswer(probeTimeout: .seconds(30), every: .seconds(15), parts: 1, timesOut: false),
            LateAnswer(probeTimeout: .seconds(1), every: .seconds(30), parts: 1, timesOut: true),
        ])
    func theProbeWaitsTheTimeoutSet(late: LateAnswer) async throws {
        let answer = HTTPAPI.Health(
            modelsAvailable: 0, httpPort: 0, nodeID: "late-peer-0001", nodeName: "late", activeTransfers: 0, modelsHashing: 0)
        let health = try WireCoding.encode(answer)
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(health.count)\r\nConnection: close\r\n\r\n"
        let server = try await OneRequestHTTPServer { _ in
            .init(bytes: Array(head.utf8) + [health[0]], later: (late.every, Array(health.dropFirst())), laterParts: late.parts)
        }
        do {
            try await withTemporaryDirectory { directory in
                try await withMeshNode(stateDirectory: directory.sub("node"), folders: []) { configuration in
                    configuration.mesh.peers = [server.baseURL]
                    configuration.mesh.probeInterval = .milliseconds(300)
                    configuration.mesh.probeTimeout = late.probeTimeout
                } _: { running in
                    // Until the first probe has ended, either way (answered: the address has a node id).
                    var seen: MeshAPI.Peer? = nil
                    _ = try await eventually(timeout: .seconds(90)) {
                        let list = await HTTPProbe.getJSON(MeshAPI.PeerList.self, port: running.port, path: MeshAPI.peersPath)
                        seen = list?.peers.first { $0.http == server.baseURL && ($0.probeError != nil || !$0.nodeID.isEmpty) }
                        return seen != nil
                    }
                    let peer = try #require(seen, "the configured peer's probe never ended")
                    if late.timesOut {
                        #expect(peer.probeError == MeshAPI.Peer.probeTimedOut && peer.nodeID.isEmpty, "\(peer)")
                    } else {
                        #expect(peer.probeError == nil && peer.nodeID == "late-peer-0001", "the probe did not wait 30 s: \(peer)")
                    }
                }
            }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
