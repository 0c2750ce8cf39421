import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd.SwarmRelayEndToEnd {
    /// A swarm pull from an HTTP provider and a relay-only one whose relay dies mid-pull: the
    /// relayed pieces in flight fail at once as a lost link (not the peer's fault), go back to
    /// the other source, and the pull completes from it.
    @Test("a relay killed mid-pull: the relayed pieces in flight go to the HTTP provider at once, nobody blamed")
    func relayKilledMidPull() async throws {
        try await withAtmoSandbox { sandbox in
            let size = 32 * mebibyte
            let piece = PieceManifest.pieceSize(forFileSize: size)
            let id = "swarm-relay-loss.gguf"
            // A over HTTP and B through the relay alone, each about 3 MiB/s to C: the relay
            // dies with the pull about a quarter done and relayed pieces in flight.
            try await SwarmRelayMesh.run(
                in: sandbox, modelID: id, size: size, seed: 49, holderB: .copy, optionsA: TCPProxy.Options(bytesPerSecond: 3 << 20),
                relayOptions: TCPProxy.Options(bytesPerSecond: 3 << 20)
            ) { mesh in
                let (relay, relayForC, c) = (mesh.relay, mesh.relayForC, mesh.c)
                let relayedBefore = relayForC.bytesToClients
                let pull = try sandbox.start(["pull", id, "--state-dir", c.stateDirectory, "--json"], name: "pull")
                // Killed once B has sent C two pieces through it, while a piece is streaming
                // (bytes came in each of the last three polls, and the stream began under half a
                // piece ago or has run two pieces without a pause): B may have one piece out at a
                // time, and between pieces nothing is in flight (a loaded machine made that gap
                // the kill's moment once).
                let deadline = Date().addingTimeInterval(60)
                var (last, streamStart, streamingPolls) = (relayedBefore, relayedBefore, 0)
                while pull.isRunning, Date() < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                    let now = relayForC.bytesToClients
                    if now == last { (streamStart, streamingPolls) = (now, 0) } else { streamingPolls += 1 }
                    last = now
                    let streamed = now - streamStart
                    if now - relayedBefore >= 2 * piece, streamingPolls >= 3, streamed < piece / 2 || streamed >= 2 * piece { break }
                }
                #expect(pull.isRunning, "the pull ended before the relay was killed")
                // The relay dies, and C's connection to it with it, as when the relay's machine
                // goes: without the cut, the proxy's buffers (the kernel's socket buffers behind
                // a 3 MiB/s pace) would still hand C whole pieces B had sent before the kill.
                relay.process.signal(SIGKILL)
                await relayForC.cut()
                _ = await relay.process.waitForExit(timeout: 10)
                let killed = Date()

                #expect(await pull.waitForExit(timeout: 120) == 0, "\(pull.standardError)")
                let seconds = Date().timeIntervalSince(killed)
                #expect(PullOutput(pull).result?.sha256 == mesh.sha256, "\(pull.standardOutputLines.suffix(1))")
                #expect(filesEqual(c.stateDirectory + "/models/" + id, mesh.source))
                let log = c.process.standardError
                print("SwarmRelayEndToEnd relay killed mid-pull: the pull ended \(String(format: "%.1f", seconds)) s after the kill")
                #expect(log.contains("pulling from the swarm"), "\(log.suffix(3000))")
                // The pieces in flight on B failed as a lost link, at once, and B was not
                // blamed for them (a dead relay is not B's fault).
                let lost = log.split(separator: "\n").filter { $0.contains("link to the peer was lost") }
                #expect(!lost.isEmpty, "\(log.suffix(4000))")
                #expect(lost.allSatisfy { $0.contains("relay") }, "\(lost)")
                let blamed = log.split(separator: "\n").filter { $0.contains("piece failed; the schedule retries it") && $0.contains("lost") }
                #expect(blamed.isEmpty, "\(blamed)")
            }
        }
    }
}
