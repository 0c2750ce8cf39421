import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd.SwarmEndToEnd {
    /// `atmo pull ID --from URL` with no node running, where the node at URL is still pulling
    /// the model: no mesh view announces an entry, so the pull takes the one the node lists in
    /// its catalog's `partial_models`, its pieces as it gets them, and waits for the rest.
    @Test("atmo pull --from URL of a node still pulling the model takes its pieces and waits for the rest")
    func pullFromTheURLOfAPartialHolder() async throws {
        try await withAtmoSandbox { sandbox in
            let size = 16 * mebibyte
            let id = "swarm-partial-from.gguf"
            let offered = sandbox.path("a-offered") + "/" + id
            let sha256 = try ModelFixtures.writeModel(at: offered, size: Int(size), seed: 46, header: .gguf)
            let portA = try HTTPProbe.unusedPort()
            // A sends B 2 MiB/s: B needs 8 s for the file, so it is partial while C pulls.
            try await withProxies([(portA, TCPProxy.Options(bytesPerSecond: 2 << 20))]) { proxiesA in
                let a = try await sandbox.serve(
                    folders: [sandbox.path("a-offered")], stateDirectory: sandbox.path("a"), port: portA, name: "a", readyModels: [id],
                    extraArguments: ["--advertise-url", proxiesA[0].baseURL])
                try await SwarmModel.waitForManifest(a, modelID: id)
                let b = try await sandbox.serve(folders: [], stateDirectory: sandbox.path("b"), name: "b", extraArguments: ["--peer", a.baseURL])
                try await b.waitForMesh("the model with its manifest") {
                    $0.contains { $0.entry.modelID == id && $0.entry.manifestReference != nil }
                }
                let started = try await sandbox.run(["pull", id, "--state-dir", b.stateDirectory, "--detach", "--json"], name: "b-pull")
                #expect(started.status == 0, "\(started.stderr)")
                let requestID = try JSONDecoder().decode(DownloadAPI.Started.self, from: Data(started.stdout.utf8)).requestID
                _ = try await EndToEnd.NodeDownloads.waitForDownload(b, "B at 1 MiB") {
                    $0.requestID == requestID && $0.bytesDone >= mebibyte
                }
                // B lists the file in its catalog's `partial_models` from its next gossip tick
                // on; the pull is made once it does.
                try await Self.waitForPartialListing(of: id, port: b.port)

                // C runs no node: the pull runs in the command, from B's URL alone.
                let pull = try await sandbox.run(
                    ["pull", id, "--from", b.baseURL, "--state-dir", sandbox.path("c"), "--json"], name: "c-pull", timeout: 120)
                #expect(pull.status == 0, "\(pull.stderr)\n\(pull.stdout.suffix(600))")
                #expect(pull.pullOutput.result?.sha256 == sha256, "\(pull.stdout.suffix(600))")
                #expect(filesEqual(sandbox.path("c") + "/models/" + id, offered))
                // B was still downloading when C began: C had every byte from B, A sent the
                // file about once (to B).
                print("SwarmEndToEnd partial from URL: A sent \(proxiesA[0].bytesToClients) bytes through its proxy")
                #expect(proxiesA[0].bytesToClients < size + size / 2, "A sent \(proxiesA[0].bytesToClients)")

                let done = try await EndToEnd.NodeDownloads.waitForDownload(b, timeout: 60, "B completed") {
                    $0.requestID == requestID && $0.isFinal
                }
                #expect(done.state == "completed", "\(done)")
            }
        }
    }

    /// Waits until the node on `port` lists `id` under `partial_models` in its `GET
    /// /v1/catalogs` (a streamed, chunked body: read as text once its chunks are joined).
    static func waitForPartialListing(of id: String, port: Int, timeout: Duration = .seconds(30)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if let answer = await HTTPProbe.get(port: port, path: "/v1/catalogs"), answer.status == 200 {
                let text = dechunked(answer.body, chunked: answer.headers.contains { $0.key.lowercased() == "transfer-encoding" })
                if let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)), Self.listsPartial(id, in: json) { return }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("the node never listed \(id) in partial_models within \(timeout)")
    }

    /// Whether some `partial_models` array in `json` (any depth) has an entry of `id`.
    static func listsPartial(_ id: String, in json: Any) -> Bool {
        if let object = json as? [String: Any] {
            if let partial = object["partial_models"] as? [[String: Any]], partial.contains(where: { $0["model_id"] as? String == id }) {
                return true
            }
            return object.values.contains { listsPartial(id, in: $0) }
        }
        if let array = json as? [Any] { return array.contains { listsPartial(id, in: $0) } }
        return false
    }

    /// The payload of a chunked body (RFC 9112 §7.1), or the body itself when not chunked.
    static func dechunked(_ body: Data, chunked: Bool) -> String {
        let raw = String(decoding: body, as: UTF8.self)
        guard chunked else { return raw }
        var payload = ""
        var rest = Substring(raw)
        while let lineEnd = rest.range(of: "\r\n") {
            let sizeText = rest[rest.startIndex..<lineEnd.lowerBound].split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            guard let end = rest.utf8.index(start, offsetBy: size, limitedBy: rest.utf8.endIndex) else { break }
            payload += rest[start..<end]
            rest = rest[end...].dropFirst(2)
        }
        return payload
    }
}
