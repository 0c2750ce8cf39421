import AtmoProtocol
import Foundation
import Testing

@testable import AtmoTransfer

/// Sender and receiver over a simulated link (deterministic simulated time, no waiting):
/// the fast modes against `compat`, and recovery from loss and corruption.
struct ChunkedSimulationTests {
    typealias F = ChunkedFixtures
    static let hundredMBps = 100_000_000.0

    /// A negotiated transfer of `[resume, total)` in `mode` over the link.
    static func simulation(
        _ mode: TransferMode, total: Int64, resume: Int64 = 0, bytesPerSecond: Double = hundredMBps, oneWayDelayMs: Double = 10,
        sender senderConfiguration: ChunkSender.Configuration = .init(),
        receiver receiverConfiguration: ChunkReceiver.Configuration = .init()
    ) throws -> ChunkedSimulation {
        let request = F.request(resume: resume, modes: [mode])
        let opening = ChunkSender.open(
            request: request, source: F.source(total: total), localNodeID: F.provider, pathSupportsBinary: true,
            configuration: senderConfiguration)
        guard case .accepted(let sender, let start) = opening else { throw SimulationSetupFailed(reason: "\(opening)") }
        #expect(sender.mode == mode)
        let answer = ChunkReceiver.open(request: request, start: start, localNodeID: F.consumer, configuration: receiverConfiguration)
        guard case .accepted(let receiver) = answer else { throw SimulationSetupFailed(reason: "\(answer)") }
        return ChunkedSimulation(sender: sender, receiver: receiver, bytesPerSecond: bytesPerSecond, oneWayDelayMs: oneWayDelayMs)
    }

    static func describe(_ name: String, _ result: ChunkedSimulation.Result, bytes: Int64) -> String {
        let seconds = (result.completedAtMs ?? .nan) / 1000
        let rate = result.throughput(bytes: bytes) / 1_000_000
        return "\(name): \(bytes) bytes in \(String(format: "%.3f", seconds)) s simulated, \(String(format: "%.1f", rate)) MB/s, "
            + "max in flight \(result.maxChunksInFlight) chunks / \(result.maxBytesInFlight) bytes, final window \(result.finalWindowBytes), "
            + "acks \(result.receiver.acksSent), resends \(result.sender.chunksResent)"
    }

    @Test func fastBinaryIsTenTimesFasterThanCompatAndFillsTheLink() throws {
        let size = 64 * F.mib
        var compat = try Self.simulation(.compat, total: size)
        let slow = compat.run()
        var fast = try Self.simulation(.fastBinary, total: size)
        let quick = fast.run()
        print(Self.describe("compat", slow, bytes: size))
        print(Self.describe("fast_binary", quick, bytes: size))

        for result in [slow, quick] {
            #expect(result.deliveredBytes == size)
            #expect(result.deliveriesCorrect)
            #expect(result.senderCancel == nil && result.receiverCancel == nil)
            #expect(result.finishedAtMs != nil)
            #expect(result.sender.chunksResent == 0)
        }
        #expect(slow.maxChunksInFlight <= 2)
        #expect(quick.maxBytesInFlight <= 16 * F.mib)
        let slowMs = try #require(slow.completedAtMs)
        let quickMs = try #require(quick.completedAtMs)
        #expect(quickMs * 10 <= slowMs, "fast_binary \(quickMs) ms vs compat \(slowMs) ms")
        #expect(quick.throughput(bytes: size) >= 0.7 * Self.hundredMBps, "\(quick.throughput(bytes: size)) bytes/s")
    }

    @Test func fastTextBeatsCompatDespiteBase64() throws {
        let size = 32 * F.mib
        var compat = try Self.simulation(.compat, total: size)
        let slow = compat.run()
        var text = try Self.simulation(.fastText, total: size)
        let result = text.run()
        print(Self.describe("compat", slow, bytes: size))
        print(Self.describe("fast_text", result, bytes: size))
        #expect(result.deliveriesCorrect && result.deliveredBytes == size)
        let slowMs = try #require(slow.completedAtMs)
        let textMs = try #require(result.completedAtMs)
        #expect(textMs * 10 <= slowMs)
        // Base64 makes a chunk 4/3 larger on the wire: at most 75 MB/s of payload.
        #expect(result.throughput(bytes: size) >= 0.6 * Self.hundredMBps)
    }

    /// A relay allows 50 messages/s per connection by default; acks are messages.
    @Test func fastBinaryWithAcksSpacedForARelayStillFillsTheLink() throws {
        let size = 64 * F.mib
        var configuration = ChunkReceiver.Configuration()
        configuration.minAckIntervalMs = 25
        var simulation = try Self.simulation(.fastBinary, total: size, receiver: configuration)
        let result = simulation.run()
        print(Self.describe("fast_binary, acks >= 25 ms apart", result, bytes: size))
        let milliseconds = try #require(result.completedAtMs)
        #expect(result.deliveriesCorrect && result.deliveredBytes == size)
        // At most one ack per 25 ms (40/s), plus the first and the last.
        #expect(Double(result.receiver.acksSent) <= milliseconds / 25 + 2)
        #expect(result.throughput(bytes: size) >= 0.7 * Self.hundredMBps)
    }

    /// Text chunks are relay messages too: paced, they stay under the relay's rate.
    @Test func pacedTextChunksStayUnderARelayRate() throws {
        let size = 8 * F.mib
        var configuration = ChunkSender.Configuration()
        configuration.maxChunksPerSecond = 40
        var simulation = try Self.simulation(.fastText, total: size, sender: configuration)
        let result = simulation.run()
        print(Self.describe("fast_text paced at 40 chunks/s", result, bytes: size))
        let milliseconds = try #require(result.completedAtMs)
        #expect(result.deliveriesCorrect && result.deliveredBytes == size)
        // 32 chunks, 8 of them in the first burst, then 40 per second.
        #expect(milliseconds >= 24.0 / 40 * 1000)
        #expect(result.sender.timeouts == 0)
    }

    @Test func aSlowLongLinkIsFilledWithoutSpuriousResends() throws {
        let size = 8 * F.mib
        var simulation = try Self.simulation(.fastBinary, total: size, bytesPerSecond: 1_000_000, oneWayDelayMs: 50)
        let result = simulation.run()
        print(Self.describe("fast_binary at 1 MB/s, 100 ms RTT", result, bytes: size))
        #expect(result.deliveriesCorrect && result.deliveredBytes == size)
        #expect(result.sender.timeouts == 0)
        #expect(result.sender.chunksResent == 0)
        #expect(result.throughput(bytes: size) >= 0.7 * 1_000_000)
    }

    @Test func aLostChunkIsResentAndTheFileStillArrivesInOrder() throws {
        let size = 16 * F.mib + 7
        var simulation = try Self.simulation(.fastBinary, total: size)
        simulation.fate = { index, transmission in index == 10 && transmission == 1 ? .drop : .deliver }
        let result = simulation.run()
        #expect(result.deliveriesCorrect && result.deliveredBytes == size)
        #expect(result.completedAtMs != nil && result.finishedAtMs != nil)
        #expect(result.sender.timeouts == 1)
        #expect(result.sender.chunksResent >= 1)
        #expect(result.receiver.gaps >= 1)
    }

    @Test func aCorruptedCopyIsRejectedAndResent() throws {
        let size = 4 * F.mib
        var simulation = try Self.simulation(.fastText, total: size)
        simulation.fate = { index, transmission in index == 5 && transmission == 1 ? .corrupt : .deliver }
        let result = simulation.run()
        #expect(result.deliveriesCorrect && result.deliveredBytes == size)
        #expect(result.receiver.badChunks == 1)
        #expect(result.completedAtMs != nil)
    }

    @Test func aChunkCorruptedEveryTimeCancelsWithHashMismatch() throws {
        var simulation = try Self.simulation(.compat, total: F.mib)
        simulation.fate = { index, _ in index == 3 ? .corrupt : .deliver }
        let result = simulation.run()
        #expect(result.receiverCancel?.reason == .hashMismatch)
        #expect(result.deliveredBytes == 3 * 64 * F.kib)
        #expect(simulation.sender.state == .cancelled(.hashMismatch, byPeer: true))
    }

    @Test func aDeadLinkEndsWithTimeout() throws {
        var fast = try Self.simulation(.fastBinary, total: 8 * F.mib)
        fast.fate = { _, _ in .drop }
        let fastResult = fast.run()
        #expect(fastResult.senderCancel?.reason == .timeout)
        // 3 s before any RTT sample, 3 resends, then the cancel: 12 s.
        #expect(fastResult.senderCancelledAtMs == 12_000)
        #expect(fast.sender.state == .cancelled(.timeout, byPeer: false))
        #expect(fast.receiver.state == .cancelled(.timeout, byPeer: true))

        var compat = try Self.simulation(.compat, total: F.mib)
        compat.fate = { _, _ in .drop }
        let compatResult = compat.run()
        #expect(compatResult.senderCancel?.reason == .timeout)
        // 30 s per try, 3 resends of chunks 0 and 1, then the cancel: 120 s.
        #expect(compatResult.senderCancelledAtMs == 120_000)
        #expect(compatResult.sender.timeouts == 6)
    }

    @Test func aResumeFromANonAlignedByteDeliversTheRest() throws {
        let size = 10 * F.mib + 3
        let resume = 3 * F.mib + 12_345
        var simulation = try Self.simulation(.fastText, total: size, resume: resume)
        let result = simulation.run()
        #expect(result.deliveriesCorrect)
        #expect(result.deliveredBytes == size - resume)
        #expect(simulation.receiver.deliveredBytes == size - resume)
    }
}

struct SimulationSetupFailed: Error {
    var reason: String
}
