import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// Bandwidth limits with real processes: a limit that holds, set by flag, by the config
    /// file and at runtime with `atmo limit`. Lower bounds on time only.
    @Suite("bandwidth limits")
    struct BandwidthLimitsEndToEnd {
        /// 6 MB: at 2 MB/s at least 2.9 s (less the bucket's 0.1 s of savings).
        static let size: Int64 = 6_000_000

        /// Seconds `atmo pull` of `served` takes, after checking it installed the same bytes.
        func timedPull(_ served: ServedModel, name: String) async throws -> Double {
            let started = Date()
            let pull = try await served.sandbox.run(served.pullArguments(), name: name)
            let seconds = Date().timeIntervalSince(started)
            try #require(pull.status == 0, "\(pull.stderr)")
            #expect(filesEqual(served.installedPath, served.source))
            return seconds
        }

        @Test("serve --limit-up 2MB/s: a 6 MB pull over HTTP takes at least 2.5 s")
        func uploadLimitHoldsOverHTTP() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("offered")
                let modelID = "limited.gguf"
                let source = folder + "/" + modelID
                let sha256 = try ModelFixtures.writeModel(at: source, size: Int(Self.size), seed: 11, header: .gguf)
                let server = try await sandbox.serve(
                    folders: [folder], stateDirectory: sandbox.path("provider"), readyModels: [modelID],
                    extraArguments: ["--limit-up", "2MB/s"])
                let served = ServedModel(
                    sandbox: sandbox, server: server, modelID: modelID, sha256: sha256, size: Self.size, source: source)
                let seconds = try await timedPull(served, name: "pull-limited")
                #expect(seconds >= 2.5, "6 MB under a 2 MB/s limit took \(seconds) s")
            }
        }

        @Test("atmo limit sets, prints and lifts the limits of a running node; config.json's bandwidth is read")
        func limitCommandRoundTrip() async throws {
            try await withAtmoSandbox { sandbox in
                let provider = sandbox.path("provider")
                try FileManager.default.createDirectory(atPath: provider, withIntermediateDirectories: true)
                try Data(#"{"bandwidth": {"down": "5Mbps", "peers": {"10.0.0.9": {"up": "1MB/s"}}}}"#.utf8)
                    .write(to: URL(fileURLWithPath: provider + "/config.json"))
                let folder = sandbox.path("offered")
                let modelID = "runtime.gguf"
                let source = folder + "/" + modelID
                let sha256 = try ModelFixtures.writeModel(at: source, size: Int(Self.size), seed: 12, header: .gguf)
                let server = try await sandbox.serve(folders: [folder], stateDirectory: provider, readyModels: [modelID])

                // The config file's limits, as the API and the CLI show them.
                let initial = try #require(await HTTPProbe.getJSON(BandwidthStatus.self, port: server.port, path: BandwidthLimits.apiPath))
                #expect(initial.limits.down.bytesPerSecond == 625_000)
                #expect(initial.limits.up.isUnlimited)
                #expect(initial.limits.peerRate("10.0.0.9", .up).bytesPerSecond == 1_000_000)
                let shown = try await sandbox.run(["limit", "--state-dir", provider], name: "limit-show")
                #expect(shown.status == 0, "\(shown.stderr)")
                #expect(shown.stdout.contains("down:              625KB/s"), "\(shown.stdout)")

                // Set at runtime: the next pull is held to it.
                let set = try await sandbox.run(
                    ["limit", "--up", "2MB/s", "--size-class-policy", "seed", "--json", "--state-dir", provider], name: "limit-set")
                #expect(set.status == 0, "\(set.stderr)")
                let answered = try JSONDecoder().decode(BandwidthStatus.self, from: Data(set.stdout.utf8))
                #expect(answered.limits.up.bytesPerSecond == 2_000_000)
                #expect(answered.limits.sizeClassPolicy == .seed)
                #expect(answered.limits.down.bytesPerSecond == 625_000, "options left out stay as they were")
                let now = try #require(await HTTPProbe.getJSON(BandwidthStatus.self, port: server.port, path: BandwidthLimits.apiPath))
                #expect(now.limits == answered.limits)
                let served = ServedModel(
                    sandbox: sandbox, server: server, modelID: modelID, sha256: sha256, size: Self.size, source: source)
                let seconds = try await timedPull(served, name: "pull-runtime-limited")
                #expect(seconds >= 2.5, "6 MB under a 2 MB/s runtime limit took \(seconds) s")

                // Lifted again; a bad rate is refused before it reaches the node.
                let lift = try await sandbox.run(["limit", "--up", "unlimited", "--state-dir", provider], name: "limit-lift")
                #expect(lift.status == 0, "\(lift.stderr)")
                #expect(lift.stdout.contains("up:                unlimited"), "\(lift.stdout)")
                let bad = try await sandbox.run(["limit", "--up", "fast", "--state-dir", provider], name: "limit-bad")
                #expect(bad.status == 64, "\(bad.stderr)")
                let after = try #require(await HTTPProbe.getJSON(BandwidthStatus.self, port: server.port, path: BandwidthLimits.apiPath))
                #expect(after.limits.up.isUnlimited)
            }
        }
        @Test("through a relay: A's upload limit and then B's download limit, set with atmo limit, each hold a 6 MB pull to at least 2.5 s")
        func limitsHoldThroughARelay() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("a-models")
                let up = try ModelFixtures.writeModel(at: folder + "/up.gguf", size: Int(Self.size), seed: 21, header: .gguf)
                let down = try ModelFixtures.writeModel(at: folder + "/down.gguf", size: Int(Self.size), seed: 22, header: .gguf)
                let relay = try await sandbox.relay(stateDirectory: sandbox.path("relay"))
                let (a, b) = try await RelayPull.meshOverRelay(sandbox, relay: relay, modelsFolder: folder, model: "up.gguf")
                try await b.waitForMesh("down.gguf through the relay") { models in models.contains { $0.entry.modelID == "down.gguf" } }

                // A sends at most 2 MB/s: chunked uploads wait for the shaper's credit.
                let limitA = try await sandbox.run(["limit", "--up", "2MB/s", "--state-dir", a.stateDirectory], name: "limit-a")
                try #require(limitA.status == 0, "\(limitA.stderr)")
                var started = Date()
                let first = try await sandbox.run(["pull", "up.gguf", "--state-dir", b.stateDirectory, "--json"], name: "pull-up")
                var seconds = Date().timeIntervalSince(started)
                #expect(first.status == 0, "\(first.stderr)")
                #expect(first.pullOutput.result?.sha256 == up)
                #expect(first.pullOutput.progress.last.flatMap(RelayPull.peer(of:))?.hasPrefix("relay://") == true)
                #expect(seconds >= 2.5, "6 MB relayed under A's 2 MB/s upload limit took \(seconds) s")

                // A unlimited, B receives at most 2 MB/s: each relayed piece waits before its request.
                _ = try await sandbox.run(["limit", "--up", "unlimited", "--state-dir", a.stateDirectory], name: "unlimit-a")
                let limitB = try await sandbox.run(["limit", "--down", "2MB/s", "--state-dir", b.stateDirectory], name: "limit-b")
                try #require(limitB.status == 0, "\(limitB.stderr)")
                started = Date()
                let second = try await sandbox.run(["pull", "down.gguf", "--state-dir", b.stateDirectory, "--json"], name: "pull-down")
                seconds = Date().timeIntervalSince(started)
                #expect(second.status == 0, "\(second.stderr)")
                #expect(second.pullOutput.result?.sha256 == down)
                #expect(seconds >= 2.5, "6 MB relayed under B's 2 MB/s download limit took \(seconds) s")
            }
        }
    }
}
