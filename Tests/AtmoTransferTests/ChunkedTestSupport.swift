import AtmoProtocol
import Foundation

@testable import AtmoTransfer

/// Requests, files and chunks for the chunked-transfer tests.
enum ChunkedFixtures {
    static let requestID = "6f1c2b9e-3a7d-4f0e-9b61-2c8d5e4a7f10"
    static let modelID = "yolov8n"
    static let provider = "provider-node"
    static let consumer = "consumer-node"
    /// The announced whole-file hash (the tests never hash whole files).
    static let fileSHA = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    static let otherSHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let metadata = ModelTransferStart.Metadata(name: "YOLOv8n", type: "vision", format: "pt", classes: nil)
    static let kib: Int64 = 1024
    static let mib: Int64 = 1024 * 1024

    /// The file's content repeats this many bytes: a prime, so chunks never line up with it.
    private static let period = 4093
    private static let pattern: Data = Data((0..<period).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ ($0 >> 3)) })

    /// Bytes `[offset, offset + length)` of the simulated file (fast: built from slices of a pattern).
    static func content(offset: Int64, length: Int64) -> Data {
        var data = Data(capacity: Int(length))
        var position = Int(offset % Int64(period))
        var remaining = Int(length)
        while remaining > 0 {
            let take = min(remaining, period - position)
            data.append(pattern[position..<position + take])
            remaining -= take
            position = 0
        }
        return data
    }

    static func source(total: Int64) -> ChunkSource {
        ChunkSource(totalBytes: total, sha256: fileSHA, metadata: metadata)
    }

    static func request(
        resume: Int64 = 0, end: Int64? = nil, modes: [TransferMode]? = [.fastBinary, .fastText, .compat], sha: String? = fileSHA,
        maxChunk: Int64? = nil, id: String = requestID
    ) -> ModelRequest {
        ModelRequest(
            requestID: id, requesterNodeID: consumer, targetNodeID: provider, modelID: modelID, resumeFromByte: resume,
            transport: .websocket, sha256: modes == nil ? nil : sha, endByte: end, transferModes: modes, maxChunkBytes: maxChunk)
    }

    /// A range of a file of `total` bytes from `start`.
    static func range(total: Int64, chunk: Int64, start: Int64 = 0, end: Int64? = nil) -> ChunkRange {
        ChunkRange.covering(from: start, to: end, totalBytes: total, chunkSize: chunk)!
    }

    /// A started sender of `mode` over `range`.
    static func sender(
        _ mode: TransferMode, range: ChunkRange, configuration: ChunkSender.Configuration = .init(), now: Int64 = 0
    ) -> (ChunkSender, [ChunkSender.Action]) {
        var sender = ChunkSender(
            requestID: requestID, modelID: modelID, localNodeID: provider, mode: mode, range: range, configuration: configuration)
        let actions = sender.start(now: now)
        return (sender, actions)
    }

    /// A started receiver of `mode` over `range`.
    static func receiver(
        _ mode: TransferMode, range: ChunkRange, deliverFrom: Int64? = nil, configuration: ChunkReceiver.Configuration = .init(),
        now: Int64 = 0
    ) -> (ChunkReceiver, [ChunkReceiver.Action]) {
        var receiver = ChunkReceiver(
            requestID: requestID, modelID: modelID, localNodeID: consumer, mode: mode, range: range, deliverFrom: deliverFrom,
            configuration: configuration)
        let actions = receiver.start(now: now)
        return (receiver, actions)
    }

    /// Chunk `index` of `range` as the consumer receives it, correctly hashed; `corrupt`
    /// flips a byte after hashing.
    static func chunk(_ index: Int64, of range: ChunkRange, corrupt: Bool = false, id: String = requestID) -> ReceivedChunk {
        var data = content(offset: range.offset(of: index), length: range.length(of: index))
        let digest = ChunkDigest.sha256(data)
        if corrupt { data[data.startIndex] ^= 0xFF }
        return ReceivedChunk(requestID: id, chunkIndex: index, data: data, sha256: digest)
    }

    static func ack(_ index: Int64, cumulative: Bool? = true, id: String = requestID) -> ModelTransferChunkAck {
        ModelTransferChunkAck(requestID: id, chunkIndex: index, cumulative: cumulative)
    }
}

extension Array where Element == ChunkSender.Action {
    /// Indices of `.send` actions.
    var sent: [Int64] { compactMap { if case .send(let slice) = $0 { slice.index } else { nil } } }
    /// Indices of `.resend` actions.
    var resent: [Int64] { compactMap { if case .resend(let slice) = $0 { slice.index } else { nil } } }
    /// The cancel to send, if any.
    var cancel: ModelTransferCancel? { lazy.compactMap { if case .cancel(let cancel) = $0 { cancel } else { nil } }.first }
    var isFinished: Bool { contains(.finished) }
}

extension Array where Element == ChunkReceiver.Action {
    /// The acks to send.
    var acks: [ModelTransferChunkAck] { compactMap { if case .sendAck(let ack) = $0 { ack } else { nil } } }
    /// The deliveries, as (offset, length).
    var deliveries: [(offset: Int64, data: Data)] {
        compactMap { if case .deliver(let offset, let data) = $0 { (offset, data) } else { nil } }
    }
    /// The cancel to send, if any.
    var cancel: ModelTransferCancel? { lazy.compactMap { if case .cancel(let cancel) = $0 { cancel } else { nil } }.first }
    var isComplete: Bool { contains(.complete) }
}
