import AtmoProtocol
import Foundation
import Testing

@testable import AtmoTransfer

/// `ChunkSender.open` (answering a request) and `ChunkReceiver.open` (checking the start).
struct ChunkedOpeningTests {
    typealias F = ChunkedFixtures

    func open(_ request: ModelRequest, total: Int64 = 10 * F.mib, binary: Bool = true, modes: Set<TransferMode>? = nil)
        -> ChunkSender.Opening
    {
        var configuration = ChunkSender.Configuration()
        if let modes { configuration.supportedModes = modes }
        return ChunkSender.open(
            request: request, source: F.source(total: total), localNodeID: F.provider, pathSupportsBinary: binary,
            configuration: configuration)
    }

    func accepted(_ opening: ChunkSender.Opening, sourceLocation: SourceLocation = #_sourceLocation) -> (ChunkSender, ModelTransferStart)? {
        guard case .accepted(let sender, let start) = opening else {
            Issue.record("refused: \(opening)", sourceLocation: sourceLocation)
            return nil
        }
        return (sender, start)
    }

    func refusal(_ opening: ChunkSender.Opening, sourceLocation: SourceLocation = #_sourceLocation) -> ModelTransferCancel? {
        guard case .refused(let cancel) = opening else {
            Issue.record("accepted, expected a refusal", sourceLocation: sourceLocation)
            return nil
        }
        return cancel
    }

    @Test func aNewConsumerGetsTheFirstModeItListsAndTheNewFields() throws {
        let (sender, start) = try #require(accepted(open(F.request())))
        #expect(sender.mode == .fastBinary)
        #expect(start.transferMode == "fast_binary")
        #expect(start.transferMethod == "websocket_chunked")
        #expect(start.chunkSize == F.mib)
        #expect(start.totalChunks == 10)
        #expect(start.startByte == 0 && start.endByte == 10 * F.mib)
        #expect(start.sha256 == F.fileSHA)
    }

    @Test func anOlderConsumerGetsCompatAndTheOlderStart() throws {
        let (sender, start) = try #require(accepted(open(F.request(resume: 100_000, modes: nil))))
        #expect(sender.mode == .compat)
        #expect(start.chunkSize == 65_536)
        #expect(start.transferMode == nil && start.startByte == nil && start.endByte == nil)
        #expect(sender.range.startByte == 65_536)
    }

    @Test func binaryNeedsAPathThatCarriesItAndAShortRequestID() throws {
        #expect(try #require(accepted(open(F.request(), binary: false))).0.mode == .fastText)
        let longID = String(repeating: "a", count: 65)
        #expect(try #require(accepted(open(F.request(id: longID)))).0.mode == .fastText)
        #expect(try #require(accepted(open(F.request(), modes: [.compat]))).0.mode == .compat)
    }

    @Test func theConsumersChunkLimitIsHonoured() throws {
        let (_, start) = try #require(accepted(open(F.request(maxChunk: 300_000))))
        #expect(start.chunkSize == 300_000)
    }

    @Test func aNonAlignedResumeIsRoundedDownAndTheEndUp() throws {
        let (sender, start) = try #require(accepted(open(F.request(resume: 3 * F.mib + 5, end: 5 * F.mib + 1))))
        #expect(start.startByte == 3 * F.mib)
        #expect(start.endByte == 6 * F.mib)
        #expect(sender.range.firstChunk == 3 && sender.range.endChunk == 6)
    }

    @Test func anotherVersionIsAHashMismatch() throws {
        let cancel = try #require(refusal(open(F.request(sha: F.otherSHA))))
        #expect(cancel.reason == .hashMismatch)
        #expect(cancel.message.contains(F.otherSHA) && cancel.message.contains(F.fileSHA))
        #expect(cancel.cancelledBy == F.provider && cancel.requestID == F.requestID)
    }

    @Test func rangesOutsideTheFileAreRefused() throws {
        let beyond = try #require(refusal(open(F.request(resume: 10 * F.mib + 1))))
        #expect(beyond.reason == .protocolError)
        #expect(beyond.message.contains("beyond the end"))
        let backwards = try #require(refusal(open(F.request(resume: 500, end: 100))))
        #expect(backwards.reason == .protocolError)
        #expect(backwards.message.contains("before resume_from_byte"))
    }

    @Test func aResumeAtTheEndIsAnEmptyTransfer() throws {
        let (sender, start) = try #require(accepted(open(F.request(resume: 10 * F.mib))))
        #expect(start.startByte == 10 * F.mib && start.endByte == 10 * F.mib)
        #expect(sender.range.isEmpty)
        guard
            case .accepted(let receiver) = ChunkReceiver.open(request: F.request(resume: 10 * F.mib), start: start, localNodeID: F.consumer)
        else {
            Issue.record("the receiver refused an empty range")
            return
        }
        var copy = receiver
        #expect(copy.start(now: 0) == [.complete])
    }

    // MARK: The consumer's checks of the start message

    func receiverOpening(_ request: ModelRequest, _ change: (inout ModelTransferStart) -> Void = { _ in }) throws -> ChunkReceiver.Opening {
        let (_, start) = try #require(accepted(open(request)))
        var changed = start
        change(&changed)
        return ChunkReceiver.open(request: request, start: changed, localNodeID: F.consumer)
    }

    @Test func theReceiverAcceptsItsProvidersStart() throws {
        let request = F.request(resume: 3 * F.mib + 5, end: 5 * F.mib + 1)
        guard case .accepted(let receiver) = try receiverOpening(request) else {
            Issue.record("refused")
            return
        }
        #expect(receiver.mode == .fastBinary)
        #expect(receiver.range.startByte == 3 * F.mib && receiver.range.endByte == 6 * F.mib)
        #expect(receiver.deliverFrom == 3 * F.mib + 5 && receiver.deliverTo == 5 * F.mib + 1)
    }

    @Test func theReceiverAcceptsAnOlderProvidersStart() throws {
        let request = F.request(resume: 100_000, modes: [.fastText, .compat])
        let start = ModelTransferStart(
            requestID: F.requestID, modelID: F.modelID, totalBytes: 10 * F.mib, sha256: F.fileSHA, metadata: F.metadata,
            transferMethod: "websocket_chunked")
        guard case .accepted(let receiver) = ChunkReceiver.open(request: request, start: start, localNodeID: F.consumer) else {
            Issue.record("refused")
            return
        }
        #expect(receiver.mode == .compat)
        #expect(receiver.range.startByte == 65_536 && receiver.range.endByte == 10 * F.mib)
        #expect(receiver.deliverFrom == 100_000)
    }

    static let badStarts: [(String, CancelReason, String, @Sendable (inout ModelTransferStart) -> Void)] = [
        ("another request", .protocolError, "does not answer", { $0.requestID = "other" }),
        ("another version", .hashMismatch, "was requested", { $0.sha256 = ChunkedFixtures.otherSHA }),
        ("http_range", .protocolError, "not websocket_chunked", { $0.transferMethod = "http_range" }),
        ("unknown mode", .protocolError, "unknown transfer_mode", { $0.transferMode = "fast_warp" }),
        ("chunk too large", .protocolError, "exceeds", { $0.chunkSize = 8 * ChunkedFixtures.mib }),
        ("not aligned", .protocolError, "not chunk-aligned", { $0.startByte = 5 }),
        ("not covering", .protocolError, "do not cover", { $0.startByte = 4 * ChunkedFixtures.mib }),
        ("short end", .protocolError, "do not cover", { $0.endByte = 5 * ChunkedFixtures.mib }),
    ]

    @Test(arguments: badStarts)
    func theReceiverRefusesAStartThatDoesNotAnswer(
        _ name: String, _ reason: CancelReason, _ words: String, _ change: @Sendable (inout ModelTransferStart) -> Void
    ) throws {
        let request = F.request(resume: 3 * F.mib + 5, end: 5 * F.mib + 1)
        guard case .refused(let cancel) = try receiverOpening(request, change) else {
            Issue.record("\(name): accepted")
            return
        }
        #expect(cancel.reason == reason, "\(name)")
        #expect(cancel.message.contains(words), "\(name): \(cancel.message)")
        #expect(cancel.cancelledBy == F.consumer)
    }

    @Test func theReceiverRefusesAModeItDidNotOffer() throws {
        let request = F.request(modes: [.fastText, .compat])
        let start = ModelTransferStart(
            requestID: F.requestID, modelID: F.modelID, totalBytes: 10 * F.mib, chunkSize: F.mib, sha256: F.fileSHA, metadata: F.metadata,
            transferMethod: "websocket_chunked", transferMode: .fastBinary, startByte: 0, endByte: 10 * F.mib)
        guard case .refused(let cancel) = ChunkReceiver.open(request: request, start: start, localNodeID: F.consumer) else {
            Issue.record("accepted")
            return
        }
        #expect(cancel.message.contains("was not offered"))
    }

    @Test func theReceiverHonoursItsChunkLimit() throws {
        let request = F.request(maxChunk: 300_000)
        let start = ModelTransferStart(
            requestID: F.requestID, modelID: F.modelID, totalBytes: 10 * F.mib, chunkSize: F.mib, sha256: F.fileSHA, metadata: F.metadata,
            transferMethod: "websocket_chunked", transferMode: .fastBinary, startByte: 0, endByte: 10 * F.mib)
        guard case .refused(let cancel) = ChunkReceiver.open(request: request, start: start, localNodeID: F.consumer) else {
            Issue.record("accepted")
            return
        }
        #expect(cancel.message.contains("exceeds 300000"))
    }
}
