import AtmoProtocol
import Testing

@testable import AtmoMesh

/// What one peer can make the mesh's repository view say (docs/PROTOCOL.md, "Trust"): a
/// path two providers list with other contents is served by neither; node ids behind one
/// host are one voice when a ref names several commits; a trusted provider's commit comes
/// first; a lookup by repository id reads that repository's commits only.
struct MeshCatalogRepositoryTrustTests {
    let t0 = MeshFixtures.start
    typealias F = MeshFixtures
    typealias S = MeshCatalogRepositoryCommitTests
    static let commitE = String(repeating: "e", count: 40)

    func mesh(_ offers: [(nodeID: String, http: String, repositories: [RepositoryEntry])]) -> MeshCatalog {
        var mesh = MeshCatalog()
        for offer in offers {
            var catalog = F.catalog(offer.nodeID, at: t0, models: [], http: offer.http)
            catalog.repositories = offer.repositories
            mesh.apply(catalog, now: t0)
        }
        return mesh
    }

    @Test func aPathProvidersDisagreeOnIsLeftOutAndExtraPathsOfAgreeingProvidersStay() throws {
        let genuine = S.snapshot("org--tiny", S.commitX, refs: ["main"])
        // Another node: config.json with other bytes, and a file the genuine node lacks.
        let other = S.snapshot("org--tiny", S.commitX, refs: ["main"], files: [("config.json", "9"), ("extra.txt", "3")])
        let repository = try #require(
            mesh([("a", "http://10.0.0.1:1", [genuine]), ("b", "http://10.0.0.2:1", [other])]).repositories.first)
        #expect(repository.entry.files.map(\.path) == ["extra.txt", "model.safetensors"], "config.json is disputed: neither is served")
        // A blob id alone differing is a dispute too.
        var relabelled = genuine
        relabelled.files[0].blobID = String(repeating: "d", count: 40)
        let second = try #require(
            mesh([("a", "http://10.0.0.1:1", [genuine]), ("b", "http://10.0.0.2:1", [relabelled])]).repositories.first)
        #expect(second.entry.files.map(\.path) == ["model.safetensors"])
        // Providers agreeing on every path they share merge as before: the union.
        let partial = S.snapshot("org--tiny", S.commitX, refs: ["main"], files: [("config.json", "1")])
        let agreed = try #require(
            mesh([("a", "http://10.0.0.1:1", [genuine]), ("b", "http://10.0.0.2:1", [partial])]).repositories.first)
        #expect(agreed.entry.files.map(\.path) == ["config.json", "model.safetensors"])
        #expect(agreed.completeProviders.map(\.nodeID) == ["a"])
    }

    @Test func nodeIDsBehindOneHostAreOneVoiceAndATrustedProviderComesFirst() throws {
        let genuine = S.snapshot("org--tiny", S.commitX, refs: ["main"])
        let forged = S.snapshot("org--tiny", Self.commitE, refs: ["main"], files: [("config.json", "9")])
        // One sender, three made-up node ids (two ports of one host, one with an upper-case
        // host name), against one genuine node.
        let mesh = mesh([
            ("genuine", "http://192.168.1.10:14750", [genuine]),
            ("sybil-1", "http://192.168.1.66:14750", [forged]), ("sybil-2", "http://192.168.1.66:9999/x", [forged]),
            ("sybil-3", "http://USER@192.168.1.66:1", [forged]),
        ])
        let revisions = mesh.repositoryVersions(of: "org--tiny")
        let ranked = MeshRepository.ranked(revisions, trusted: { _ in false })
        #expect(ranked.map(\.key.revision) == [S.commitX, Self.commitE], "equal voices: the tie goes by commit, not by node ids")
        #expect(ranked.map { $0.standing(trusted: { _ in false }).hosts } == [1, 1])
        // A second host for the forged commit outvotes the genuine one; a trusted genuine node does not lose.
        let twoHosts = self.mesh([
            ("genuine", "http://192.168.1.10:14750", [genuine]), ("sybil-1", "http://192.168.1.66:14750", [forged]),
            ("sybil-2", "http://[fe80::1]:14750", [forged]),
        ]).repositoryVersions(of: "org--tiny")
        #expect(MeshRepository.ranked(twoHosts, trusted: { _ in false }).first?.key.revision == Self.commitE)
        #expect(MeshRepository.ranked(twoHosts, trusted: { $0 == "genuine" }).first?.key.revision == S.commitX)
        // This node's own offer is no vote.
        #expect(MeshRepository.ranked(twoHosts, excluding: "sybil-2", trusted: { _ in false }).first?.key.revision == S.commitX)
    }

    @Test func voicesAreHostsOfTheHTTPEndpoint() {
        let voice = { (url: String?) in MeshRepository.voice(of: .init(http: url)) }
        #expect(voice("http://Host.LAN:14750/") == "host.lan")
        #expect(voice("http://[fe80::1]:80") == "fe80::1")
        #expect(voice("https://a:b@10.0.0.1") == "10.0.0.1")
        #expect(voice(nil) == "" && voice("10.0.0.1:5") == "10.0.0.1")
    }

    @Test func aLookupByRepositoryIDReturnsItsCommitsAsTheFullMergeDoes() {
        var offers: [(nodeID: String, http: String, repositories: [RepositoryEntry])] = []
        for node in 0..<20 {
            let entries = (0..<5).map { repo in
                S.snapshot("org--r\(repo)", S.commitX, refs: ["main"], repoID: "org/r\(repo)")
            }
            offers.append(("n\(node)", "http://10.0.0.\(node):1", entries))
        }
        let mesh = mesh(offers)
        let index = mesh.repositoryIndex()
        #expect(index.count == 5)
        let one = mesh.repositories(repoID: "org/r3", in: index)
        #expect(one.map(\.key) == [MeshRepository.Key(repoID: "org/r3", revision: S.commitX)])
        #expect(one == mesh.repositories.filter { $0.key.repoID == "org/r3" })
        #expect(one.first?.providers.count == 20)
        #expect(mesh.repositories(repoID: "org/none", in: index).isEmpty)
        #expect(mesh.repositoryVersions(of: "org--r3", in: index) == one)
    }
}
