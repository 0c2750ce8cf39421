import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// Two nodes of one mesh for the Hub endpoint's mesh fetches: a holder whose Hugging Face
/// cache holds `HubCacheFixture`'s repository, and a node with an empty cache that has the
/// holder as its peer and already lists the repository at its Hub endpoint.
struct HubMeshPair: Sendable {
    let fixture: HubCacheFixture
    let holder: RunningNode
    let meshed: RunningNode
    /// The meshed node's Hugging Face cache, where its fetches land.
    let meshedCache: String

    /// Runs `body` with the pair; `weightsSize` is the fixture's, `holder` and `meshed` change
    /// each node's configuration (the meshed node's peer list is set before `meshed` runs).
    static func with(
        _ directory: TemporaryDirectory, weightsSize: Int = HubCacheFixture.weightsSize,
        holder configureHolder: @escaping @Sendable (inout NodeConfiguration) -> Void = { _ in },
        meshed configureMeshed: @escaping @Sendable (inout NodeConfiguration) -> Void = { _ in },
        _ body: @Sendable (HubMeshPair) async throws -> Void
    ) async throws {
        let fixture = try HubCacheFixture.make(root: directory.sub("holder-hub"), weightsSize: weightsSize)
        try await withHubNode(state: directory.sub("holder-state"), cache: fixture.root, configure: configureHolder) { holder in
            let cache = directory.sub("meshed-hub")
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            try await withHubNode(
                state: directory.sub("meshed-state"), cache: cache,
                configure: {
                    $0.mesh.peers = [holder.baseURL]
                    configureMeshed(&$0)
                }
            ) { meshed in
                let listed = try await eventually(timeout: .seconds(60)) {
                    try await RawHTTP.get(port: meshed.port, "/api/models/\(HubCacheFixture.repoID)/revision/main").status == 200
                }
                try #require(listed, "the peer's repository never reached this node's Hub endpoint")
                try await body(HubMeshPair(fixture: fixture, holder: holder, meshed: meshed, meshedCache: cache))
            }
        }
    }
}
