import Foundation
import AtmoProtocol
import Testing

@testable import AtmoTransfer

/// `ChunkRange`: absolute chunk indices, aligned ranges, the short last chunk.
struct ChunkRangeTests {
    @Test func aFreshRangeCoversTheFileWithAShortLastChunk() throws {
        let range = try #require(ChunkRange.covering(from: 0, to: nil, totalBytes: 150, chunkSize: 64))
        #expect(range.firstChunk == 0)
        #expect(range.endChunk == 3)
        #expect(range.chunkCount == 3)
        #expect(range.fileChunkCount == 3)
        #expect((0..<3).map(range.length(of:)) == [64, 64, 22])
        #expect((0..<3).map(range.offset(of:)) == [0, 64, 128])
        #expect((-1..<3).map(range.bytesThrough) == [0, 64, 128, 150])
    }

    @Test func aNonAlignedResumeIsRoundedDown() throws {
        let range = try #require(ChunkRange.covering(from: 100, to: nil, totalBytes: 300, chunkSize: 64))
        #expect(range.startByte == 64)
        #expect(range.firstChunk == 1)
        #expect(range.endByte == 300)
        #expect(range.endChunk == 5)
        #expect(range.bytesThrough(1) == 64)
        #expect(range.contains(1) && !range.contains(0) && !range.contains(5))
    }

    @Test func anEndIsRoundedUpAndClampedToTheFile() throws {
        let inside = try #require(ChunkRange.covering(from: 0, to: 65, totalBytes: 300, chunkSize: 64))
        #expect(inside.endByte == 128)
        let past = try #require(ChunkRange.covering(from: 0, to: 1_000, totalBytes: 300, chunkSize: 64))
        #expect(past.endByte == 300)
        let nearEnd = try #require(ChunkRange.covering(from: 0, to: 290, totalBytes: 300, chunkSize: 64))
        #expect(nearEnd.endByte == 300)
    }

    @Test func emptyRangesHoldNoChunk() throws {
        let atEnd = try #require(ChunkRange.covering(from: 150, to: nil, totalBytes: 150, chunkSize: 64))
        #expect(atEnd.isEmpty && atEnd.chunkCount == 0 && atEnd.startByte == 150)
        let midFile = try #require(ChunkRange.covering(from: 100, to: 100, totalBytes: 150, chunkSize: 64))
        #expect(midFile.isEmpty && midFile.chunkCount == 0)
        let emptyFile = try #require(ChunkRange.covering(from: 0, to: nil, totalBytes: 0, chunkSize: 64))
        #expect(emptyFile.isEmpty && emptyFile.fileChunkCount == 0)
    }

    @Test func aOneByteFileIsOneChunk() throws {
        let range = try #require(ChunkRange.covering(from: 0, to: nil, totalBytes: 1, chunkSize: 1_048_576))
        #expect(range.chunkCount == 1)
        #expect(range.length(of: 0) == 1)
    }

    @Test func invalidRequestsHaveNoRange() {
        #expect(ChunkRange.covering(from: 151, to: nil, totalBytes: 150, chunkSize: 64) == nil)
        #expect(ChunkRange.covering(from: -1, to: nil, totalBytes: 150, chunkSize: 64) == nil)
        #expect(ChunkRange.covering(from: 100, to: 50, totalBytes: 150, chunkSize: 64) == nil)
        #expect(ChunkRange.covering(from: 0, to: nil, totalBytes: 150, chunkSize: 0) == nil)
        #expect(ChunkRange(totalBytes: 150, chunkSize: 64, startByte: 10, endByte: 64) == nil)
        #expect(ChunkRange(totalBytes: 150, chunkSize: 64, startByte: 0, endByte: 100) == nil)
        #expect(ChunkRange(totalBytes: 150, chunkSize: 64, startByte: 0, endByte: 200) == nil)
    }

    @Test func hugeFilesDoNotOverflow() throws {
        let range = try #require(ChunkRange.covering(from: Int64.max - 10, to: Int64.max - 1, totalBytes: Int64.max, chunkSize: 1_048_576))
        #expect(range.endByte == Int64.max)
        #expect(range.endChunk == Int64.max / 1_048_576 + 1)
        #expect(range.length(of: range.endChunk - 1) == Int64.max % 1_048_576)
    }

    @Test func hexRoundTrips() {
        let bytes: [UInt8] = [0x00, 0x7F, 0xAB, 0xFF]
        #expect(ChunkDigest.hex(bytes) == "007fabff")
        #expect(ChunkDigest.bytes(hex: "007FabFF") == bytes)
        #expect(ChunkDigest.bytes(hex: "abc") == nil)
        #expect(ChunkDigest.bytes(hex: "zz") == nil)
        #expect(ChunkDigest.hex(ChunkDigest.sha256(Data("abc".utf8))) == ChunkedFixtures.fileSHA)
    }
}
