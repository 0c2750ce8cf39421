import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

/// config.json's `follow` list is a base: what `atmo follow`/`unfollow` change at runtime
/// survives a restart, until config.json changes that entry (a node restarted on one state
/// directory with different configurations).
struct ConfigFollowRestartTests {
    typealias Request = UpdatesAPI.FollowRequest

    /// Runs a node on `state` with `config` as its follows, waits until they are applied,
    /// runs `body`, stops the node.
    func withNode(
        state: String, config: [Request], _ body: @Sendable (MeshNode) async throws -> Void = { _ in }
    ) async throws {
        try await withMeshNode(stateDirectory: state, folders: [], configure: { $0.follows = config }) { running in
            let expected = Dictionary(config.map { ($0.modelID, $0.mode ?? "auto") }, uniquingKeysWith: { first, _ in first })
            let deadline = Date().addingTimeInterval(60)
            while try running.node.database.configFollows() != expected, Date() < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try #require(running.node.database.configFollows() == expected)
            try await body(running.node)
        }
    }

    /// id → mode of the node's follows.
    func modes(_ node: MeshNode) async throws -> [String: String] {
        Dictionary(try await node.follows().map { ($0.modelID, $0.mode) }, uniquingKeysWith: { first, _ in first })
    }

    @Test func runtimeChangesSurviveARestartUntilConfigChangesTheEntry() async throws {
        try await withTemporaryDirectory(prefix: "atmo-config-follows") { folder in
            let state = folder.path + "/state"
            let first = [
                Request(modelID: "a.gguf", mode: "prompt"), Request(modelID: "b.gguf", mode: "auto"),
                Request(modelID: "c.gguf", mode: "auto"), Request(modelID: "e.gguf", mode: "auto"),
            ]
            try await withNode(state: state, config: first) { node in
                let modes = try await modes(node)
                #expect(modes == ["a.gguf": "prompt", "b.gguf": "auto", "c.gguf": "auto", "e.gguf": "auto"])
                try await node.follow(modelID: "a.gguf", mode: "auto")
                let unfollowed = try await node.unfollow(modelID: "b.gguf")
                #expect(unfollowed)
            }
            // The same config.json: the runtime's mode and unfollow stay.
            try await withNode(state: state, config: first) { node in
                let modes = try await modes(node)
                #expect(modes == ["a.gguf": "auto", "c.gguf": "auto", "e.gguf": "auto"])
                try await node.follow(modelID: "c.gguf", mode: "prompt")
            }
            // config.json changes b (it comes back, as prompt), keeps a (its runtime mode stays),
            // drops c (changed at runtime: stays) and e (the config's: goes), adds f.
            let second = [
                Request(modelID: "a.gguf", mode: "prompt"), Request(modelID: "b.gguf", mode: "prompt"),
                Request(modelID: "f.gguf", mode: nil),
            ]
            try await withNode(state: state, config: second) { node in
                let modes = try await modes(node)
                #expect(modes == ["a.gguf": "auto", "b.gguf": "prompt", "c.gguf": "prompt", "f.gguf": "auto"])
            }
            // No follows in config.json at all: the config's own (b, f) go, the runtime's stay.
            try await withNode(state: state, config: []) { node in
                let modes = try await modes(node)
                #expect(modes == ["a.gguf": "auto", "c.gguf": "prompt"])
            }
        }
    }
}
