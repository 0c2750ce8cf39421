import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// The Hub endpoint of a node whose only source of a repository is a node it reaches
    /// through `atmo relay` alone: no provider URL to send the client to, so the node streams
    /// the file as its fetch checks the pieces (docs/PROTOCOL.md, "Hub-compatible endpoint").
    @Suite("Hub endpoint: a mesh fetch from a relay-only provider is streamed")
    struct HubMeshRelayStream {
        static let deadEndpoint = "http://127.0.0.1:1"

        @Test("a file only a relay-only node holds: 200 from this node, every byte right, while the fetch runs")
        func relayOnlyProviderIsStreamedThrough() async throws {
            try await withAtmoSandbox { sandbox in
                let repo = "atmo-test/relay-stream"
                let size = 12 * mebibyte
                let fixture = try HubRepositoryFixture.make(
                    root: sandbox.path("a-hub"), repoID: repo, weights: [("model.safetensors", size, 29)],
                    texts: ["config.json": #"{"model_type": "gpt2"}"# + "\n"])
                let weights = try Data(contentsOf: URL(fileURLWithPath: fixture.blob("model.safetensors")))
                let relay = try await sandbox.relay(stateDirectory: sandbox.path("relay"))
                try await sandbox.makeMesh(name: "hub", relay: relay.url, founderState: sandbox.path("a"), memberStates: [sandbox.path("b")])
                // A sends at most 2 MB/s (about 6 s for the file, far past B's 5 s wait) and
                // neither node has an HTTP endpoint the other can reach: the relay only.
                let slow = sandbox.path("slow.json")
                try Data(#"{"bandwidth": {"up": "2MB/s"}}"#.utf8).write(to: URL(fileURLWithPath: slow))
                _ = try await sandbox.serveHub(
                    hubCache: fixture.root, stateDirectory: sandbox.path("a"), name: "a",
                    extraArguments: ["--advertise-url", Self.deadEndpoint, "--config", slow])
                let b = try await sandbox.serveHub(
                    hubCache: sandbox.path("b-hub"), stateDirectory: sandbox.path("b"), name: "b",
                    extraArguments: ["--advertise-url", Self.deadEndpoint])
                let deadline = ContinuousClock.now + .seconds(90)
                var listed = false
                while !listed, ContinuousClock.now < deadline {
                    listed = await HTTPProbe.get(port: b.port, path: "/api/models/\(repo)/revision/main")?.status == 200
                    if !listed { try await Task.sleep(for: .milliseconds(100)) }
                }
                try #require(listed, "B never listed A's repository (over the relay)")
                let answer = try #require(
                    await HTTPProbe.get(port: b.port, path: "/\(repo)/resolve/main/model.safetensors", timeout: 30),
                    "B did not answer")
                #expect(answer.status == 200)
                #expect(answer.headers["location"] == nil)
                #expect(answer.headers["content-length"] == String(size))
                #expect(answer.headers["x-repo-commit"] == fixture.commit)
                #expect(answer.body.count == weights.count)
                #expect(answer.body == weights)
                // The fetch went on into B's cache: the next client gets it from there.
                let blob = sandbox.path("b-hub") + "/models--atmo-test--relay-stream/blobs/" + (fixture.etags["model.safetensors"] ?? "")
                #expect(FileManager.default.contents(atPath: blob) == weights)
            }
        }
    }
}
