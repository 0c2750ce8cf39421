import Testing

@testable import AtmoTransfer

/// A 206 cut into tiny chunks costs the pull CPU per chunk (hostile review dec07e, F3): its
/// parts must average a kilobyte (`RangeBodyPace.minimumAveragePartBytes`), over both
/// ways a range is read.
@Suite(.serialized)
struct FinelyCutRangeBodyTests {
    @Test(arguments: [true, false])
    func aRangeChunkedIntoTinyChunksFailsAndBlamesThePeer(overConnection: Bool) async throws {
        let server = HostileBodyServer(answer: .chunked(chunkBytes: 16))
        let result = try await HostileRangeBodyTests.fetch(server, overConnection: overConnection)
        let error = try #require(HostileRangeBodyTests.transferError(result), "\(result)")
        #expect(error.code == .protocolViolation, "\(error)")
        #expect(error.message.contains("parts"), "\(error)")
    }

    @Test(arguments: [true, false])
    func theTimeToTheHeadIsNotHeldAgainstTheBody(overConnection: Bool) async throws {
        // The head 1.5 s late, the floor's window 1 s: its first window starts at the head, so
        // the parts rule (not "trickling") ends this body (seen on a loaded CI, 2026-12-07).
        let server = HostileBodyServer(answer: .chunked(chunkBytes: 16), headDelay: .milliseconds(1500))
        let result = try await HostileRangeBodyTests.fetch(server, overConnection: overConnection)
        let error = try #require(HostileRangeBodyTests.transferError(result), "\(result)")
        #expect(error.code == .protocolViolation, "\(error)")
        #expect(error.message.contains("parts"), "\(error)")
    }

    @Test(arguments: [true, false])
    func aRangeChunkedIntoKilobyteChunksIsRead(overConnection: Bool) async throws {
        // Chunked is valid HTTP/1.1: chunks of a TCP segment or more are read as usual.
        let server = HostileBodyServer(answer: .chunked(chunkBytes: 1400))
        let result = try await HostileRangeBodyTests.fetch(server, overConnection: overConnection)
        #expect(try result.get() == HostileRangeBodyTests.length)
    }
}
