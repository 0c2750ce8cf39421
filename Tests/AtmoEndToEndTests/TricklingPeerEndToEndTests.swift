import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// A configured peer that answers `/health` with a 200 head and then one body byte every
    /// 2 s never gets its probe through the mesh client's 10 s deadline: `atmo peers` says it
    /// did not answer in time and its reliability falls, where it showed "not reached yet"
    /// with reliability 1.00 for as long as it trickled.
    @Suite("trickling configured peer")
    struct TricklingPeer {
        @Test("a configured peer that only trickles shows as timed out, its reliability falling")
        func tricklingConfiguredPeer() async throws {
            let trickler = TricklingAnswerServer(interval: .seconds(2))
            let url = try await trickler.start()
            do {
                try await Self.check(url, trickler)
            } catch {
                await trickler.stop()
                throw error
            }
            await trickler.stop()
        }

        static func check(_ url: String, _ trickler: TricklingAnswerServer) async throws {
            try await withAtmoSandbox { sandbox in
                let node = try await sandbox.serve(
                    folders: [], stateDirectory: sandbox.path("node"), name: "node",
                    extraArguments: ["--peer", url, "--probe-interval", "0.3"])
                // The first probe ends at its 10 s deadline; the rounds go on every 0.3 s after.
                let deadline = Date().addingTimeInterval(60)
                var seen: MeshAPI.Peer? = nil
                while Date() < deadline {
                    seen = await node.meshPeers()?.first { $0.http == url }
                    if let seen, seen.probeError == MeshAPI.Peer.probeTimedOut, seen.reliability < 1 { break }
                    try await Task.sleep(for: .milliseconds(200))
                }
                let peer = try #require(seen, "the configured peer is not listed")
                #expect(peer.nodeID.isEmpty && peer.origin == "configured", "\(peer)")
                #expect(peer.probeError == MeshAPI.Peer.probeTimedOut, "\(peer)")
                #expect(peer.reliability < 1, "\(peer)")
                #expect(trickler.requestCount >= 1)

                let table = try await sandbox.run(["peers", "--state-dir", node.stateDirectory], name: "peers")
                #expect(table.status == 0, "\(table.stderr)")
                let row = try #require(table.stdout.split(separator: "\n").first { $0.contains(url) }, "\(table.stdout)")
                #expect(row.contains("(no answer in time)") && !row.contains("not reached yet"), "\(row)")
                #expect(!row.contains("1.00"), "\(row)")
            }
        }
    }
}
