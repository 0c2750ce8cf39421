import AtmoMesh
import AtmoProtocol
import Synchronization
import Testing

@testable import AtmoNode

/// `HubCatalog` and what the mesh may add to a commit: nothing to one this node holds, the
/// mesh's listing to one it fills from the mesh; and a request reads one repository's
/// revisions only (hostile review F10, F11).
struct HubCatalogTrustTests {
    typealias H = HubCatalogTests

    @Test func aHeldCommitIsAnsweredFromItsOwnFilesAlone() throws {
        let own = H.entry(H.commitA, refs: ["main"], files: ["config.json", "model.bin"])
        var theirs = H.entry(H.commitA, refs: ["main"], files: ["config.json", "model.bin", "modeling_evil.py"])
        theirs.files[0].sha256 = String(repeating: "9", count: 64)
        for revision in ["main", H.commitA] {
            let found = try HubCatalog(local: [own], mesh: [theirs]).resolve(repoID: "org/name", revision: revision).get()
            #expect(found.entry == own, "\(revision)")
        }
        // The mesh's `main` is another commit, the node holds this one as a tag: still its own files.
        let tagged = H.entry(H.commitA, refs: ["v1"], files: ["config.json"])
        let found = try HubCatalog(local: [tagged], mesh: [theirs]).resolve(repoID: "org/name", revision: "main").get()
        #expect(found.entry == tagged)
    }

    @Test func aCommitFilledFromTheMeshListsTheMeshsFilesWithItsOwnInTheirPlace() throws {
        let own = H.entry(H.commitA, refs: ["main"], files: ["config.json"])
        var theirs = H.entry(H.commitA, refs: ["main"], files: ["config.json", "model.bin"])
        theirs.files[0].sizeBytes = 99
        let catalog = HubCatalog(local: [own], mesh: [theirs], fillingFromMesh: [MeshRepository.Key(entry: own)])
        let found = try catalog.resolve(repoID: "org/name", revision: "main").get()
        #expect(found.entry.files.map(\.path) == ["config.json", "model.bin"])
        #expect(found.entry.file(atPath: "config.json") == own.files[0])
        #expect(found.entry.sizeBytes == 20)
        #expect(found.localFile("model.bin") == nil)
    }

    @Test func aRequestAsksTheMeshForItsRepositoryOnly() throws {
        let asked = Mutex<[String]>([])
        let others = (0..<50).map { index in
            RepositoryEntry(modelID: "org--r\(index)", repoID: "org/r\(index)", revision: H.commitB, refs: ["main"], files: [H.file("a")])
        }
        let source = HubRepositorySource(
            local: { [] }, mesh: { Issue.record("the whole mesh was listed"); return others },
            meshRevisions: { repoID in
                asked.withLock { $0.append(repoID) }
                return others.filter { $0.repoID == repoID }
            })
        #expect(try source.catalog.resolve(repoID: "org/r7", revision: "main").get().entry.repoID == "org/r7")
        #expect(source.catalog.resolve(repoID: "org/none", revision: "main") == .failure(.repository))
        #expect(asked.withLock { $0 } == ["org/r7", "org/none"])
    }
}
