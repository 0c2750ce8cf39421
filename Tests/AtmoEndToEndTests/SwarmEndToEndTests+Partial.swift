import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd.SwarmEndToEnd {
    /// A → B → C: node B pulls from A (through its running node, from the mesh) and offers
    /// the pieces it has verified at once; C pulls from A and from B while B is still at it.
    @Test("a node still downloading serves its verified pieces to a third node, then offers the whole file")
    func partialHolderServesAThirdNode() async throws {
        try await Self.pullBesidePartialHolder(partialFirst: false)
    }

    @Test("the same with the partial holder as the first --from: it is still asked for pieces")
    func partialHolderListedFirst() async throws {
        try await Self.pullBesidePartialHolder(partialFirst: true)
    }

    /// B pulls from A through its node; once B holds 3 MiB, C pulls from A and B
    /// (`partialFirst`: B's URL first). C must install the right bytes having had at least
    /// a piece from B while B was partial; B then completes and offers the file whole.
    static func pullBesidePartialHolder(partialFirst: Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await withAtmoSandbox { sandbox in
            let size = 16 * mebibyte
            let piece = PieceManifest.pieceSize(forFileSize: size)
            let id = "swarm-partial.gguf"
            let offered = sandbox.path("a-offered") + "/" + id
            let sha256 = try ModelFixtures.writeModel(at: offered, size: Int(size), seed: 44, header: .gguf)
            let portA = try HTTPProbe.unusedPort()
            // A sends 512 KiB/s to B and 2 MiB/s to C: B needs 32 s for the file, so after
            // the 3 MiB it holds when C starts it stays partial for about 26 s more, time
            // enough on a loaded machine for C's process to start and ask it for pieces (a
            // rate limit does not slow down under load; starting a process does).
            try await withProxies([
                (portA, TCPProxy.Options(bytesPerSecond: 512 << 10)), (portA, TCPProxy.Options(bytesPerSecond: 2 << 20)),
            ]) { proxiesA in
                let a = try await sandbox.serve(
                    folders: [sandbox.path("a-offered")], stateDirectory: sandbox.path("a"), port: portA, name: "a", readyModels: [id],
                    extraArguments: ["--advertise-url", proxiesA[0].baseURL])
                try await SwarmModel.waitForManifest(a, modelID: id)
                let b = try await sandbox.serve(
                    folders: [], stateDirectory: sandbox.path("b"), name: "b", extraArguments: ["--peer", a.baseURL])
                try await b.waitForMesh("the model with its manifest") {
                    $0.contains { $0.entry.modelID == id && $0.entry.manifestReference != nil }
                }
                let started = try await sandbox.run(["pull", id, "--state-dir", b.stateDirectory, "--detach", "--json"], name: "b-pull")
                #expect(started.status == 0, "\(started.stderr)", sourceLocation: sourceLocation)
                let requestID = try JSONDecoder().decode(DownloadAPI.Started.self, from: Data(started.stdout.utf8)).requestID
                _ = try await EndToEnd.NodeDownloads.waitForDownload(b, "B at 3 MiB") {
                    $0.requestID == requestID && $0.bytesDone >= 3 * mebibyte
                }

                // Partial, B does not list the file among the models it offers whole.
                #expect(await b.catalog()?.contains { $0.modelID == id } == false, sourceLocation: sourceLocation)

                try await withProxies([(b.port, TCPProxy.Options())]) { proxiesB in
                    let consumer = sandbox.path("c")
                    let pull = try sandbox.start(
                        ["pull", id]
                            + (partialFirst ? [proxiesB[0].baseURL, proxiesA[1].baseURL] : [proxiesA[1].baseURL, proxiesB[0].baseURL])
                            .flatMap { ["--from", $0] } + ["--state-dir", consumer, "--json"],
                        name: "c-pull")
                    // What B's proxy had sent C at a moment B was seen still downloading
                    // (the count is read first, B's state after: B was partial when it was sent).
                    var sentWhilePartial: Int64 = 0
                    let deadline = Date().addingTimeInterval(60)
                    while pull.isRunning && Date() < deadline {
                        let sent = proxiesB[0].bytesToClients
                        let status = await EndToEnd.NodeDownloads.downloads(b).first { $0.requestID == requestID }
                        if let status, !status.isFinal, status.bytesDone < size { sentWhilePartial = sent }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    print(
                        "SwarmEndToEnd partial holder\(partialFirst ? " listed first" : ""): B sent C \(sentWhilePartial) while downloading (\(proxiesB[0].bytesToClients) in all), "
                            + "A sent C \(proxiesA[1].bytesToClients), A had sent B \(proxiesA[0].bytesToClients)")
                    #expect(await pull.waitForExit(timeout: 10) == 0, "\(pull.standardError)", sourceLocation: sourceLocation)
                    #expect(
                        PullOutput(pull).result?.sha256 == sha256, "\(pull.standardOutputLines.suffix(1))", sourceLocation: sourceLocation)
                    #expect(filesEqual(consumer + "/models/" + id, offered), sourceLocation: sourceLocation)
                    #expect(
                        sentWhilePartial >= piece,
                        "B sent C \(sentWhilePartial) bytes while downloading, \(proxiesB[0].bytesToClients) in all; A sent C \(proxiesA[1].bytesToClients)",
                        sourceLocation: sourceLocation)
                }

                let done = try await EndToEnd.NodeDownloads.waitForDownload(b, timeout: 120, "B completed") {
                    $0.requestID == requestID && $0.isFinal
                }
                #expect(done.state == "completed", "\(done)", sourceLocation: sourceLocation)
                // Complete, B offers the file whole in its catalog.
                try await b.waitUntilReady(listing: [id], sha256: [id: sha256], timeout: 30)
                #expect(filesEqual(b.stateDirectory + "/models/" + id, offered), sourceLocation: sourceLocation)
            }
        }
    }
}
