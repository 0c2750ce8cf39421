import Foundation
import Testing

@testable import AtmoProtocol

/// The `fast_binary` chunk frame: golden bytes, round trips and every bounds check.
struct FastChunkFrameTests {
    /// SHA-256 of "abc" as raw bytes.
    static let digestABC: [UInt8] = [
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
    ]

    /// The frame of "abc", chunk 258, request "r-1", written out byte by byte.
    static let golden: [UInt8] =
        [0x41, 0x54, 0x43, 0x31]  // "ATC1"
        + [0x03, 0x72, 0x2D, 0x31]  // id length 3, "r-1"
        + [0, 0, 0, 0, 0, 0, 0x01, 0x02]  // chunk index 258
        + [0, 0, 0, 0x03]  // data length 3
        + digestABC + [0x61, 0x62, 0x63]  // digest, "abc"

    static let frame = FastChunkFrame(requestID: "r-1", chunkIndex: 258, sha256: digestABC, data: Data("abc".utf8))

    @Test func encodesTheGoldenBytes() throws {
        #expect(FastChunkFrame.fixedHeaderBytes == 49)
        #expect(Array(try Self.frame.encoded()) == Self.golden)
        let header = try FastChunkFrame.headerBytes(requestID: "r-1", chunkIndex: 258, dataLength: 3, sha256: Self.digestABC)
        #expect(header == Array(Self.golden.prefix(52)))
    }

    @Test func decodesTheGoldenBytes() throws {
        let header = try FastChunkFrame.parseHeader(Self.golden)
        #expect(header == .init(requestID: "r-1", chunkIndex: 258, dataLength: 3, sha256: Self.digestABC))
        #expect(header.length == 52)
        #expect(try FastChunkFrame.decode(Self.golden) == Self.frame)
        #expect(try FastChunkFrame.decode(Data(Self.golden)) == Self.frame)
    }

    @Test func decodesFromSlicesWithAnOffset() throws {
        let padded = Data([0xFF, 0xFF] + Self.golden)
        #expect(try FastChunkFrame.decode(padded.dropFirst(2)) == Self.frame)
        #expect(try FastChunkFrame.decode(([0xFF] + Self.golden)[1...]) == Self.frame)
        // A collection without contiguous storage takes the byte-by-byte path.
        #expect(try FastChunkFrame.decode(AnyCollection(Self.golden)) == Self.frame)
    }

    @Test func roundTripsAUUIDAndAMaximalChunk() throws {
        let data = Data((0..<WireLimits.maxBinaryChunkBytes).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let frame = FastChunkFrame(requestID: Fixtures.requestID, chunkIndex: Int64.max, sha256: Array(repeating: 9, count: 32), data: data)
        let bytes = try frame.encoded()
        #expect(bytes.count == FastChunkFrame.fixedHeaderBytes + 36 + WireLimits.maxBinaryChunkBytes)
        #expect(try FastChunkFrame.decode(bytes) == frame)
    }

    @Test func anEmptyChunkIsAFrame() throws {
        let frame = FastChunkFrame(requestID: "r", chunkIndex: 0, sha256: Array(repeating: 0, count: 32), data: Data())
        #expect(try FastChunkFrame.decode(try frame.encoded()) == frame)
    }

    static func mutated(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = golden
        change(&bytes)
        return bytes
    }

    static let malformed: [(String, [UInt8], String)] = [
        ("empty", [], "shorter than its magic"),
        ("short magic", [0x41, 0x54], "shorter than its magic"),
        ("wrong magic", mutated { $0[3] = 0x32 }, "wrong magic"),
        ("no id length", [0x41, 0x54, 0x43, 0x31], "no request id length"),
        ("id length 0", mutated { $0[4] = 0 }, "outside 1...64"),
        ("id length 65", mutated { $0[4] = 65 }, "outside 1...64"),
        ("space in id", mutated { $0[6] = 0x20 }, "printable ASCII"),
        ("control byte in id", mutated { $0[5] = 0x07 }, "printable ASCII"),
        ("non-ASCII id", mutated { $0[5] = 0xC3 }, "printable ASCII"),
        ("truncated header", Array(golden.prefix(40)), "shorter than its 52-byte header"),
        ("index above Int64.max", mutated { $0[8] = 0x80 }, "exceeds Int64.max"),
        ("data length over 4 MiB", mutated { $0[16...19] = [0, 0x40, 0, 1] }, "exceeds 4194304"),
        ("data shorter than stated", Array(golden.dropLast()), "shorter than its header says"),
        ("data longer than stated", golden + [0], "longer than its header says"),
    ]

    @Test(arguments: malformed)
    func refusesMalformedFrames(_ name: String, _ bytes: [UInt8], _ reason: String) {
        do {
            let frame = try FastChunkFrame.decode(bytes)
            Issue.record("\(name): decoded \(frame)")
        } catch {
            #expect(error.message.contains(reason), "\(name): \(error)")
            #expect(error.message.hasPrefix("chunk frame:"), "\(name): \(error)")
        }
    }

    @Test func dataLengthAbove4MiBIsTooLarge() {
        #expect(throws: WireError(.tooLarge, "chunk frame: data length 4194305 exceeds 4194304")) {
            try FastChunkFrame.parseHeader(Self.mutated { $0[16...19] = [0, 0x40, 0, 1] })
        }
    }

    static let unencodable: [(String, String, Int64, Int, Int)] = [
        ("empty id", "", 0, 0, 32), ("65-byte id", String(repeating: "a", count: 65), 0, 0, 32), ("space", "a b", 0, 0, 32),
        ("negative index", "r", -1, 0, 32), ("data over 4 MiB", "r", 0, WireLimits.maxBinaryChunkBytes + 1, 32),
        ("negative data length", "r", 0, -1, 32), ("short digest", "r", 0, 0, 31),
    ]

    @Test(arguments: unencodable)
    func refusesToEncodeWhatCannotBeCarried(_ name: String, _ id: String, _ index: Int64, _ length: Int, _ digest: Int) {
        #expect(throws: WireError.self, "\(name)") {
            try FastChunkFrame.headerBytes(requestID: id, chunkIndex: index, dataLength: length, sha256: Array(repeating: 0, count: digest))
        }
    }

    @Test func aSixtyFourByteIDFits() throws {
        let id = String(repeating: "x", count: 64)
        let frame = FastChunkFrame(requestID: id, chunkIndex: 1, sha256: Self.digestABC, data: Data([1]))
        #expect(try FastChunkFrame.decode(try frame.encoded()).requestID == id)
    }
}
