import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

@testable import AtmoStore

struct StateDatabaseTests {
    let stat = FileIO.Stat(size: 100, modificationTimeNanos: 1_700_000_000_123_456_789, inode: 42, device: 7)
    let shaA = String(repeating: "a", count: 64)
    let shaB = String(repeating: "b", count: 64)

    @Test func hashCacheHitsOnlyForTheSameFile() throws {
        let database = try StateDatabase()
        #expect(try database.cachedHash(path: "/m/x.gguf", stat: stat) == nil)
        try database.rememberHash(path: "/m/x.gguf", stat: stat, sha256: shaA)
        #expect(try database.cachedHash(path: "/m/x.gguf", stat: stat) == shaA)
        #expect(try database.cachedHash(path: "/m/other.gguf", stat: stat) == nil)
        var changed = stat
        changed.size += 1
        #expect(try database.cachedHash(path: "/m/x.gguf", stat: changed) == nil)
        changed = stat
        changed.modificationTimeNanos += 1
        #expect(try database.cachedHash(path: "/m/x.gguf", stat: changed) == nil)
        changed = stat
        changed.inode += 1
        #expect(try database.cachedHash(path: "/m/x.gguf", stat: changed) == nil)
        changed = stat
        changed.device += 1
        #expect(try database.cachedHash(path: "/m/x.gguf", stat: changed) == nil)
        // Re-hashing replaces the row.
        try database.rememberHash(path: "/m/x.gguf", stat: changed, sha256: shaB)
        #expect(try database.cachedHash(path: "/m/x.gguf", stat: changed) == shaB)
        #expect(try database.cachedHash(path: "/m/x.gguf", stat: stat) == nil)
    }

    @Test func hugeInodesAndDevicesRoundTrip() throws {
        let database = try StateDatabase()
        let big = FileIO.Stat(size: 1 << 40, modificationTimeNanos: -5, inode: UInt64.max - 1, device: 1 << 63)
        try database.rememberHash(path: "/big", stat: big, sha256: shaA)
        #expect(try database.cachedHash(path: "/big", stat: big) == shaA)
        #expect(try database.allCachedHashes()["/big"]?.stat == big)
    }

    @Test func forgetHashesKeepsOnlyTheGivenPaths() throws {
        let database = try StateDatabase()
        for path in ["/a", "/b", "/c"] { try database.rememberHash(path: path, stat: stat, sha256: shaA) }
        try database.forgetHashes(except: ["/b"])
        #expect(Set(try database.allCachedHashes().keys) == ["/b"])
    }

    func record(sha256: String, written: [UInt8], durable: [UInt8], boot: String) -> DownloadRecord {
        DownloadRecord(
            entry: ModelEntry(modelID: "m", name: "M", type: "llm", format: "gguf", sizeBytes: 1000, sha256: sha256),
            pieceSize: 64, partialPath: "/s/.atmo-partial/\(sha256).part", sourceURL: "http://127.0.0.1:1",
            durablePieces: durable, writtenPieces: written, bootID: boot)
    }

    @Test func downloadsSaveUpdateAndDelete() throws {
        let database = try StateDatabase()
        #expect(try database.download(sha256: shaA) == nil)
        let first = record(sha256: shaA, written: [0b0111, 0], durable: [0b0001, 0], boot: "boot-1")
        try database.saveDownload(first)
        #expect(try database.download(sha256: shaA) == first)
        try database.saveDownload(record(sha256: shaB, written: [1, 0], durable: [0, 0], boot: "boot-1"))
        #expect(try database.allDownloads().count == 2)

        try database.updateDownloadPieces(sha256: shaA, written: [0b1111, 1], durable: nil)
        var saved = try #require(try database.download(sha256: shaA))
        #expect(saved.writtenPieces == [0b1111, 1])
        #expect(saved.durablePieces == [0b0001, 0])
        try database.updateDownloadPieces(sha256: shaA, written: [0b1111, 3], durable: [0b1111, 1])
        saved = try #require(try database.download(sha256: shaA))
        #expect(saved.writtenPieces == [0b1111, 3] && saved.durablePieces == [0b1111, 1])
        #expect(saved.entry.modelID == "m" && saved.entry.sizeBytes == 1000)
        // Updating an unknown download is a no-op, not a new row.
        try database.updateDownloadPieces(sha256: String(repeating: "c", count: 64), written: [1], durable: nil)
        #expect(try database.allDownloads().count == 2)

        try database.deleteDownload(sha256: shaA)
        #expect(try database.download(sha256: shaA) == nil)
        #expect(try database.download(sha256: shaB) != nil)
        try database.deleteDownload(sha256: shaA)  // deleting twice is fine
    }

    /// The same artefact pulled into two folders at once: each partial's pieces are its own.
    @Test func pieceUpdatesOfAnotherPartialDoNotTouchTheRecord() throws {
        let database = try StateDatabase()
        let mine = record(sha256: shaA, written: [0b0001], durable: [0b0001], boot: "b")
        try database.saveDownload(mine)
        try database.updateDownloadPieces(sha256: shaA, written: [0xFF], durable: [0xFF], partialPath: "/elsewhere/x.part")
        #expect(try database.download(sha256: shaA) == mine)
        try database.updateDownloadPieces(sha256: shaA, written: [0b0011], durable: nil, partialPath: mine.partialPath)
        #expect(try database.download(sha256: shaA)?.writtenPieces == [0b0011])
        #expect(try database.download(sha256: shaA)?.durablePieces == [0b0001])
    }

    @Test func trustedPiecesDependOnTheBoot() {
        let saved = record(sha256: shaA, written: [0b0111], durable: [0b0001], boot: "boot-1")
        #expect(saved.trustedPieces(currentBootID: "boot-1") == [0b0111])
        #expect(saved.trustedPieces(currentBootID: "boot-2") == [0b0001])
        #expect(!DownloadRecord.currentBootID.isEmpty)
        #expect(DownloadRecord.currentBootID == DownloadRecord.currentBootID)
    }

    @Test func stateSurvivesReopening() throws {
        try withTemporaryDirectorySync { directory in
            let path = directory + "/state/atmo.sqlite"
            do {
                let database = try StateDatabase(path: path)
                try database.rememberHash(path: "/x", stat: stat, sha256: shaA)
                try database.saveDownload(record(sha256: shaB, written: [1], durable: [1], boot: "b"))
            }
            let reopened = try StateDatabase(path: path)
            #expect(try reopened.cachedHash(path: "/x", stat: stat) == shaA)
            #expect(try reopened.download(sha256: shaB)?.writtenPieces == [1])
        }
    }

    @Test func unwritableLocationIsAClearError() {
        #expect(throws: StoreError.self) { try StateDatabase(path: "/proc/atmo-test/atmo.sqlite") }
    }
}

/// A temporary folder for synchronous tests, removed afterwards.
func withTemporaryDirectorySync<T>(_ body: (String) throws -> T) throws -> T {
    let directory = try TemporaryDirectory(prefix: "atmo-store-test")
    defer { directory.remove() }
    return try body(directory.path)
}
