import AtmoTesting
import Crypto
import Foundation
import Logging
import Synchronization
import Testing

@testable import AtmoStore

/// Hostile review F12: a Hugging Face snapshot entry is offered only when it resolves into
/// its own repository's `blobs/` (or is a regular file of a copied snapshot). A link to a
/// file outside the cache, or to another repository's blob, is offered neither as a model
/// nor as a file of a repository, and is logged once.
struct HubSnapshotContainmentTests {
    static let commit = "0123456789abcdef0123456789abcdef01234567"

    func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).hexString }

    /// `models--org--safe` with one good blob link, one link to a file outside the cache and
    /// one to `models--org--other`'s blob; `models--org--other` is a sound repository.
    func buildCache(_ fixture: ScanFixture) throws {
        let good = MagicBytes.gguf(padding: 100)
        try fixture.hfFile(repo: "models--org--safe", commit: Self.commit, path: "good.gguf", blob: sha256(good), good)
        let secret = MagicBytes.gguf(padding: 200)
        try fixture.file("outside/secret.gguf", secret)
        try fixture.link("hub/models--org--safe/snapshots/\(Self.commit)/leak.gguf", to: fixture.url("outside/secret.gguf").path)
        let foreign = MagicBytes.gguf(padding: 300)
        try fixture.hfFile(repo: "models--org--other", commit: Self.commit, path: "foreign.gguf", blob: sha256(foreign), foreign)
        try fixture.link(
            "hub/models--org--safe/snapshots/\(Self.commit)/borrowed.gguf",
            to: "../../../models--org--other/blobs/\(sha256(foreign))")
        for repo in ["models--org--safe", "models--org--other"] {
            try fixture.file("hub/\(repo)/refs/main", MagicBytes.text(Self.commit))
        }
    }

    @Test func onlyTheLinkIntoTheRepositorysOwnBlobsIsOffered() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        try buildCache(fixture)
        let report = ModelScanner(roots: ScanRoots(huggingFaceHub: fixture.url("hub"))).scanReport()
        #expect(report.files.map(\.modelID) == ["org--other--foreign.gguf", "org--safe--good.gguf"])
        #expect(Set(report.refused.map { URL(fileURLWithPath: $0.path).lastPathComponent }) == ["leak.gguf", "borrowed.gguf"])

        let log = CapturedLog()
        let logger = Logger(label: "atmo.test", factory: { _ in log.handler })
        let inventory = Inventory(roots: ScanRoots(huggingFaceHub: fixture.url("hub")), database: try StateDatabase(), logger: logger)
        try await inventory.refresh()
        #expect(inventory.entries.map(\.modelID) == ["org--other--foreign.gguf", "org--safe--good.gguf"])
        #expect(inventory.servedEntries.map(\.modelID) == ["org--other--foreign.gguf", "org--safe--good.gguf"])
        #expect(inventory.item(modelID: "org--safe--leak.gguf") == nil)
        // The snapshot is not its commit's tree: its repository is not offered; the other is.
        #expect(inventory.repositories.map(\.repoID) == ["org/other"])
        // Logged once, not at every rescan.
        try await inventory.refresh()
        let refusals = log.messages.filter { $0.contains("outside its repository's blobs") }
        #expect(refusals.count == 2)
    }

    @Test func aLinkSwappedToLeaveTheCacheIsWithdrawnAtTheNextScan() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        try buildCache(fixture)
        let logger = Logger(label: "atmo.test", factory: { _ in SwiftLogNoOpLogHandler() })
        let inventory = Inventory(roots: ScanRoots(huggingFaceHub: fixture.url("hub")), database: try StateDatabase(), logger: logger)
        try await inventory.refresh()
        #expect(inventory.item(modelID: "org--other--foreign.gguf") != nil)
        let link = fixture.url("hub/models--org--other/snapshots/\(Self.commit)/foreign.gguf").path
        try FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: fixture.url("outside/secret.gguf").path)
        try await inventory.refresh()
        #expect(inventory.item(modelID: "org--other--foreign.gguf") == nil)
        #expect(inventory.repositories.isEmpty)
    }

    @Test func aSymlinkedCacheRootAndACopiedSnapshotStayOffered() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        let good = MagicBytes.gguf(padding: 100)
        try fixture.hfFile(repo: "models--org--safe", commit: Self.commit, path: "good.gguf", blob: sha256(good), good)
        try fixture.file("hub/models--org--safe/refs/main", MagicBytes.text(Self.commit))
        // A snapshot copied as regular files, at any depth.
        try fixture.file("hub/models--org--copied/snapshots/\(Self.commit)/sub/copied.gguf", MagicBytes.gguf(padding: 50))
        // A folder of a snapshot that is a symlink leaving the cache: refused.
        try fixture.file("outside/nested/secret.gguf", MagicBytes.gguf(padding: 200))
        try fixture.link("hub/models--org--copied/snapshots/\(Self.commit)/escape", to: fixture.url("outside/nested").path)
        try fixture.link("linked-hub", to: fixture.url("hub").path)
        let report = ModelScanner(roots: ScanRoots(huggingFaceHub: fixture.url("linked-hub"))).scanReport()
        #expect(report.files.map(\.modelID) == ["org--copied--sub--copied.gguf", "org--safe--good.gguf"])
        #expect(report.files.first { $0.modelID == "org--safe--good.gguf" }?.hub?.blobID == sha256(good))
        #expect(report.refused.map { URL(fileURLWithPath: $0.path).lastPathComponent } == ["secret.gguf"])
    }

    @Test func aSnapshotFolderLinkedOutsideItsRepositoryKeepsOnlyItsBlobLinks() throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        try fixture.file("outside/snapshot/passwd.gguf", MagicBytes.gguf(padding: 200))
        try fixture.file("hub/models--org--moved/refs/main", MagicBytes.text(Self.commit))
        try FileManager.default.createDirectory(at: fixture.url("hub/models--org--moved/snapshots"), withIntermediateDirectories: true)
        try fixture.link("hub/models--org--moved/snapshots/\(Self.commit)", to: fixture.url("outside/snapshot").path)
        let report = ModelScanner(roots: ScanRoots(huggingFaceHub: fixture.url("hub"))).scanReport()
        #expect(report.files.isEmpty)
        #expect(report.refused.count == 1)
    }
}

/// A log handler keeping every message.
final class CapturedLog: Sendable {
    let storage = Mutex<[String]>([])
    var messages: [String] { storage.withLock { $0 } }

    var handler: LogHandler { Handler(sink: self) }

    struct Handler: LogHandler {
        let sink: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            sink.storage.withLock { $0.append(event.message.description) }
        }
    }
}
