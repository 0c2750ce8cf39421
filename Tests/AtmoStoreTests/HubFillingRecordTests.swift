import AtmoTesting
import Foundation
import GRDB
import Testing

@testable import AtmoStore

/// The `hub_filling_commit` table: bounded when written, and rows that are not a valid
/// repository id and commit (not written by this node) never read back.
struct HubFillingRecordTests {
    @Test func rowsAreCappedAndInvalidOnesSkipped() throws {
        let database = try StateDatabase()
        for index in 0..<20 {
            try database.recordHubFillingCommit(
                .init(repoID: "org/r\(index)", revision: String(repeating: "a", count: 40)), atMs: Int64(index), limit: 8)
        }
        let kept = try database.hubFillingCommits(limit: 100)
        #expect(kept.map(\.repoID) == (12..<20).reversed().map { "org/r\($0)" }, "the 8 most recent, newest first")
        try database.queue.write { db in
            for (repo, revision) in [("../etc", String(repeating: "b", count: 40)), ("org/x", "main"), ("org/y", "zz")] {
                try db.execute(
                    sql: "INSERT INTO hub_filling_commit (repo_id, revision, recorded_at_ms) VALUES (?, ?, 100)", arguments: [repo, revision])
            }
        }
        let read = try database.hubFillingCommits(limit: 100)
        #expect(read.count == 8)
        #expect(!read.contains { $0.repoID == "../etc" || $0.repoID == "org/x" || $0.repoID == "org/y" })
        #expect(try database.hubFillingCommits(limit: 2).count == 0, "the 2 most recent rows are invalid: skipped, not refilled")
    }
}
