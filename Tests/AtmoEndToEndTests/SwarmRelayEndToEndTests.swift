import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// Swarm pulls whose manifest or pieces come from nodes this node reaches only through
    /// `atmo relay` (docs/PROTOCOL.md §8, "Piece queries"): the manifest and the held pieces
    /// are asked over the relay, so a relay-only node takes part in the swarm like an HTTP one.
    @Suite("swarm pulls over relay routes")
    struct SwarmRelayEndToEnd {
        @Test("the only manifest-serving provider is on the relay: the pull swarms, with pieces from it and the HTTP one")
        func manifestOnlyOverTheRelay() async throws {
            try await withAtmoSandbox { sandbox in
                let size = 16 * mebibyte
                let piece = PieceManifest.pieceSize(forFileSize: size)
                let id = "swarm-relay.gguf"
                // A answers HTTP as a node from before manifests (no piece fields, 404 for
                // /v1/pieces/), 4 MiB/s; B has no reachable endpoint: the relay only. C reaches
                // the relay through a proxy that counts what it passes, 8 MiB/s: both sources
                // have their share of the pieces.
                var older = TCPProxy.Options(bytesPerSecond: 4 << 20)
                older.hidePieceManifests = true
                try await SwarmRelayMesh.run(
                    in: sandbox, modelID: id, size: size, seed: 47, holderB: .copy, optionsA: older,
                    relayOptions: TCPProxy.Options(bytesPerSecond: 8 << 20)
                ) { mesh in
                    let (proxyA, relayForC, c) = (mesh.proxyA, mesh.relayForC, mesh.c)
                    let relayedBefore = relayForC.bytesToClients
                    let sentByABefore = proxyA.bytesToClients

                    let pull = try await sandbox.run(["pull", id, "--state-dir", c.stateDirectory, "--json"], name: "pull")
                    #expect(pull.status == 0, "\(pull.stderr)")
                    #expect(pull.pullOutput.result?.sha256 == mesh.sha256)
                    #expect(filesEqual(c.stateDirectory + "/models/" + id, mesh.source))

                    let relayed = relayForC.bytesToClients - relayedBefore
                    let sentByA = proxyA.bytesToClients - sentByABefore
                    print("SwarmRelayEndToEnd manifest over the relay: A sent \(sentByA) over HTTP, the relay passed \(relayed)")
                    // The swarm ran: both sources gave whole pieces (one source at a time,
                    // A alone, or B alone, would have given everything).
                    #expect(c.process.standardError.contains("pulling from the swarm"), "\(c.process.standardError.suffix(3000))")
                    #expect(relayed >= piece, "the relay passed \(relayed) bytes; A sent \(sentByA)")
                    #expect(sentByA >= piece, "A sent \(sentByA); the relay passed \(relayed)")
                    #expect(sentByA < size, "A sent \(sentByA); the relay passed \(relayed)")
                }
            }
        }

        @Test("a node reachable only through the relay serves its verified pieces while it is still downloading")
        func partialHolderOnlyOverTheRelay() async throws {
            try await withAtmoSandbox { sandbox in
                let size = 16 * mebibyte
                let piece = PieceManifest.pieceSize(forFileSize: size)
                let id = "swarm-relay-partial.gguf"
                // A, the seed, sends 512 KiB/s in all over HTTP: B needs at least 32 s for the
                // file, so after the 3 MiB it holds it stays partial for 26 s or more, time
                // enough on a loaded machine for C to hear of B's partial offer through the
                // relay and for C's process to start and ask B for pieces (a rate limit does
                // not slow down under load; gossip and starting a process do). B and C have no
                // reachable endpoint; C reaches the relay through a proxy that counts what the
                // relay sends it.
                try await SwarmRelayMesh.run(
                    in: sandbox, modelID: id, size: size, seed: 48, holderB: .empty, optionsA: TCPProxy.Options(bytesPerSecond: 512 << 10),
                    relayOptions: TCPProxy.Options()
                ) { mesh in
                    let (proxyA, relayForC, b, c) = (mesh.proxyA, mesh.relayForC, mesh.b, mesh.c)
                    try await b.waitForMesh("the model with its manifest, from A over HTTP") { models in
                        models.contains { $0.entry.modelID == id && $0.entry.manifestReference != nil && $0.providers.first?.transports?.first == "http" }
                    }
                    let started = try await sandbox.run(["pull", id, "--state-dir", b.stateDirectory, "--detach", "--json"], name: "b-pull")
                    #expect(started.status == 0, "\(started.stderr)")
                    let requestID = try JSONDecoder().decode(DownloadAPI.Started.self, from: Data(started.stdout.utf8)).requestID
                    _ = try await EndToEnd.NodeDownloads.waitForDownload(b, "B at 3 MiB") { $0.requestID == requestID && $0.bytesDone >= 3 * mebibyte }
                    try await c.waitForMesh("B as a partial holder over the relay alone") { models in
                        models.first { $0.entry.modelID == id }?.providers.contains { $0.partial == true && $0.transports == ["relay"] } == true
                    }

                    let relayedBefore = relayForC.bytesToClients
                    let pull = try sandbox.start(["pull", id, "--state-dir", c.stateDirectory, "--json"], name: "c-pull")
                    // What the relay had passed C at a moment B was seen still downloading.
                    var relayedWhilePartial: Int64 = 0
                    let deadline = Date().addingTimeInterval(150)
                    while pull.isRunning && Date() < deadline {
                        let relayed = relayForC.bytesToClients - relayedBefore
                        let status = await EndToEnd.NodeDownloads.downloads(b).first { $0.requestID == requestID }
                        if let status, !status.isFinal, status.bytesDone < size { relayedWhilePartial = relayed }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    #expect(await pull.waitForExit(timeout: 10) == 0, "\(pull.standardError)")
                    #expect(PullOutput(pull).result?.sha256 == mesh.sha256, "\(pull.standardOutputLines.suffix(1))")
                    #expect(filesEqual(c.stateDirectory + "/models/" + id, mesh.source))
                    print(
                        "SwarmRelayEndToEnd partial holder over the relay: the relay passed C \(relayedWhilePartial) while B was downloading "
                            + "(\(relayForC.bytesToClients - relayedBefore) in all); A sent \(proxyA.bytesToClients) over HTTP to B and C")
                    #expect(c.process.standardError.contains("pulling from the swarm"), "\(c.process.standardError.suffix(3000))")
                    // C's only relayed source of bytes was B (A is reached over HTTP): B's pieces.
                    #expect(relayedWhilePartial >= piece, "the relay passed C \(relayedWhilePartial) while B was partial")

                    let done = try await EndToEnd.NodeDownloads.waitForDownload(b, timeout: 120, "B completed") { $0.requestID == requestID && $0.isFinal }
                    #expect(done.state == "completed", "\(done)")
                }
            }
        }
    }
}
