import AtmoProtocol
import Testing

@testable import AtmoMesh

struct MeshCatalogTests {
    let t0 = MeshFixtures.start
    typealias F = MeshFixtures

    @Test func sameArtefactOnSeveralNodesIsOneModelWithSeveralProviders() {
        var mesh = MeshCatalog()
        mesh.apply(F.catalog("b", at: t0, models: [F.entry("qwen", sha: "a")]), now: t0)
        mesh.apply(F.catalog("a", at: t0, models: [F.entry("qwen", sha: "a", name: "Qwen (a)")]), now: t0)
        let models = mesh.models
        #expect(models.count == 1)
        #expect(models[0].key == MeshModel.Key(modelID: "qwen", sha256: F.sha("a")))
        #expect(models[0].providers.map(\.nodeID) == ["a", "b"])
        #expect(models[0].providers[0].endpoints.http == "http://a.lan:14750")
        #expect(models[0].providers[0].nodeName == "name-a")
        // The entry shown is the one of the first provider by node id.
        #expect(models[0].entry.name == "Qwen (a)")
    }

    @Test func twoHashesUnderOneIDAreTwoVersionsNeverMixed() {
        var mesh = MeshCatalog()
        mesh.apply(F.catalog("a", at: t0, models: [F.entry("qwen", sha: "a")]), now: t0)
        mesh.apply(F.catalog("b", at: t0, models: [F.entry("qwen", sha: "b")]), now: t0)
        mesh.apply(F.catalog("c", at: t0, models: [F.entry("qwen", sha: "b"), F.entry("other", sha: "c")]), now: t0)
        let versions = mesh.versions(of: "qwen")
        #expect(versions.map(\.key.sha256) == [F.sha("a"), F.sha("b")])
        #expect(versions.map { $0.providers.map(\.nodeID) } == [["a"], ["b", "c"]])
        #expect(mesh.model(.init(modelID: "qwen", sha256: F.sha("b")))?.providers.count == 2)
        #expect(mesh.model(.init(modelID: "qwen", sha256: F.sha("c"))) == nil)
        #expect(mesh.versions(of: "missing").isEmpty)
    }

    @Test func entriesAreDeduplicatedPerNodeAndModelID() {
        var mesh = MeshCatalog()
        mesh.apply(F.catalog("a", at: t0, models: [F.entry("m", sha: "a"), F.entry("m", sha: "b")]), now: t0)
        #expect(mesh.models.map(\.key.sha256) == [F.sha("a")])
    }

    @Test func newerCatalogReplacesANodesEntriesOlderOneIsIgnored() {
        var mesh = MeshCatalog()
        mesh.apply(F.catalog("a", at: t0, models: [F.entry("old")]), now: t0)
        let acceptedNewer = mesh.apply(F.catalog("a", at: t0 + 10, models: [F.entry("new")]), now: t0 + 10)
        #expect(acceptedNewer)
        #expect(mesh.models.map(\.key.modelID) == ["new"])
        let acceptedOlder = mesh.apply(F.catalog("a", at: t0 + 5, models: [F.entry("older")]), now: t0 + 20)
        #expect(!acceptedOlder)
        let acceptedSameTime = mesh.apply(F.catalog("a", at: t0 + 10, models: [F.entry("same-time")]), now: t0 + 20)
        #expect(!acceptedSameTime)
        #expect(mesh.models.map(\.key.modelID) == ["new"])
    }

    @Test func entriesExpireWhenNotReannouncedWithinTheirClampedTTL() {
        var mesh = MeshCatalog()
        mesh.apply(F.catalog("a", at: t0, models: [F.entry("m")], ttl: 300), now: t0)
        mesh.apply(F.catalog("b", at: t0, models: [F.entry("m")], ttl: 5), now: t0)
        let expiredBeforeFloor = mesh.expire(now: t0 + 29_999)
        #expect(expiredBeforeFloor.isEmpty)
        let expiredAtFloor = mesh.expire(now: t0 + 30_000)
        #expect(expiredAtFloor == ["b"])
        #expect(mesh.models.first?.providers.map(\.nodeID) == ["a"])
        // Re-announced in time: kept.
        mesh.apply(F.catalog("a", at: t0 + 200_000, models: [F.entry("m")], ttl: 300), now: t0 + 200_000)
        let expiredAfterRenewal = mesh.expire(now: t0 + 300_000)
        #expect(expiredAfterRenewal.isEmpty)
        let expiredAtLast = mesh.expire(now: t0 + 500_000)
        #expect(expiredAtLast == ["a"])
        #expect(mesh.models.isEmpty)
    }

    @Test func catalogFromTheFutureShadowsItsNodeOnlyUntilItExpires() {
        var mesh = MeshCatalog()
        mesh.apply(F.catalog("a", at: t0 + 86_400_000, models: [F.entry("forged")], ttl: 60), now: t0)
        let acceptedWhileShadowed = mesh.apply(F.catalog("a", at: t0, models: [F.entry("real")]), now: t0)
        #expect(!acceptedWhileShadowed)
        let acceptedAfterExpiry = mesh.apply(F.catalog("a", at: t0 + 60_000, models: [F.entry("real")]), now: t0 + 60_000)
        #expect(acceptedAfterExpiry)
        #expect(mesh.models.map(\.key.modelID) == ["real"])
    }

    @Test func removeForgetsANode() {
        var mesh = MeshCatalog()
        mesh.apply(F.catalog("a", at: t0, models: [F.entry("m")]), now: t0)
        mesh.apply(F.catalog("b", at: t0, models: [F.entry("m"), F.entry("n")]), now: t0)
        let removedFirst = mesh.remove(nodeID: "b")
        #expect(removedFirst)
        let removedAgain = mesh.remove(nodeID: "b")
        #expect(!removedAgain)
        #expect(mesh.models.map(\.key.modelID) == ["m"])
        #expect(mesh.nodeIDs == ["a"])
    }

    @Test func searchMatchesAllTermsInNameIDOrSourceRef() {
        var mesh = MeshCatalog()
        let models = [
            F.entry("qwen3-1.7b", sha: "1", name: "Qwen3 1.7B", sourceRef: "unsloth/Qwen3-1.7B-GGUF"),
            F.entry("yolov8n", sha: "2", type: "vision", format: "pt", name: "YOLOv8 nano",
                    capabilities: ["object_detection"], sourceRef: "ultralytics/yolov8n"),
            F.entry("whisper", sha: "3", type: "audio", format: "safetensors", capabilities: ["speech_recognition"]),
        ]
        mesh.apply(F.catalog("a", at: t0, models: models), now: t0)
        #expect(mesh.search(MeshQuery(text: "QWEN")).map(\.key.modelID) == ["qwen3-1.7b"])
        #expect(mesh.search(MeshQuery(text: "unsloth gguf")).map(\.key.modelID) == ["qwen3-1.7b"])
        #expect(mesh.search(MeshQuery(text: "unsloth yolo")).isEmpty)
        #expect(mesh.search(MeshQuery(text: "ultralytics/")).map(\.key.modelID) == ["yolov8n"])
        #expect(mesh.search(MeshQuery(text: "  ")).count == 3)
        #expect(mesh.search(MeshQuery(type: "Vision")).map(\.key.modelID) == ["yolov8n"])
        #expect(mesh.search(MeshQuery(format: "safetensors")).map(\.key.modelID) == ["whisper"])
        #expect(mesh.search(MeshQuery(capability: "chat")).map(\.key.modelID) == ["qwen3-1.7b"])
        #expect(mesh.search(MeshQuery(text: "yolo", type: "llm")).isEmpty)
    }

    @Test func searchListsEveryProviderOfAMatchingVersion() {
        var mesh = MeshCatalog()
        mesh.apply(F.catalog("a", at: t0, models: [F.entry("m", name: "Special name")]), now: t0)
        mesh.apply(F.catalog("b", at: t0, models: [F.entry("m", name: "plain")]), now: t0)
        #expect(mesh.search(MeshQuery(text: "special")).first?.providers.map(\.nodeID) == ["a", "b"])
        #expect(mesh.models(offeredBy: "b").map(\.key.modelID) == ["m"])
        #expect(mesh.models(offeredBy: "zz").isEmpty)
    }

    @Test func orderingIsStableByIDThenHash() {
        var mesh = MeshCatalog()
        mesh.apply(F.catalog("z", at: t0, models: [F.entry("b", sha: "2"), F.entry("a", sha: "9")]), now: t0)
        mesh.apply(F.catalog("y", at: t0, models: [F.entry("b", sha: "1"), F.entry("c", sha: "0")]), now: t0)
        let keys = mesh.models.map { "\($0.key.modelID)/\($0.key.sha256.prefix(1))" }
        #expect(keys == ["a/9", "b/1", "b/2", "c/0"])
    }
}
