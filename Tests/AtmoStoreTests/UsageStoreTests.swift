import AtmoTesting
import Foundation
import Testing

@testable import AtmoStore

/// Uses and pins in the state database (migration v6), and the in-memory tracker that
/// batches the provider's records.
struct UsageStoreTests {
    static let sha = String(repeating: "ab", count: 32)

    @Test("a use is kept by file; an older record does not overwrite a newer one")
    func laterUseWins() throws {
        let database = try StateDatabase()
        try database.recordUsage([ModelUsage(sha256: Self.sha, modelID: "m", lastUsedAt: 200, kind: .served)])
        try database.recordUsage([ModelUsage(sha256: Self.sha, modelID: "m", lastUsedAt: 100, kind: .pulled)])
        #expect(try database.usage()[Self.sha] == ModelUsage(sha256: Self.sha, modelID: "m", lastUsedAt: 200, kind: .served))
        try database.recordUsage([ModelUsage(sha256: Self.sha, modelID: "m", lastUsedAt: 300, kind: .used)])
        #expect(try database.usage()[Self.sha]?.kind == .used)
        try database.forgetUsage(sha256s: [Self.sha])
        #expect(try database.usage().isEmpty)
    }

    @Test("the tracker writes nothing until flushed, then one row per file")
    func trackerBatches() throws {
        let database = try StateDatabase()
        let tracker = UsageTracker()
        for second in 0..<1000 {
            tracker.record(.served, sha256: Self.sha, modelID: "m", at: Date(timeIntervalSince1970: Double(second)))
        }
        #expect(try database.usage().isEmpty)
        #expect(tracker.merged(with: [:])[Self.sha]?.lastUsedAt == 999)
        try tracker.flush(to: database)
        #expect(tracker.unflushed.isEmpty)
        #expect(try database.usage()[Self.sha]?.lastUsedAt == 999)
    }

    @Test("pins by model id survive a reopen; unpinning an unpinned id says so")
    func pinsPersist() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder.path + "/atmo.sqlite"
            do {
                let database = try StateDatabase(path: path)
                try database.pin(modelID: "keep.gguf")
                try database.pin(modelID: "keep.gguf")
            }
            let reopened = try StateDatabase(path: path)
            #expect(try reopened.pins() == ["keep.gguf"])
            #expect(try reopened.unpin(modelID: "keep.gguf"))
            #expect(try !reopened.unpin(modelID: "keep.gguf"))
        }
    }
}
