import AtmoProtocol
import Foundation
import NIOCore
import Synchronization

/// Frames for a relay link: a mesh message as the JSON payload of a `direct`, or a chunk
/// frame behind the relay's binary `direct` header.
enum RelayPayload {
    /// `message` (any mesh message) as a `direct` to `nodeID`.
    static func direct<Message: Encodable>(_ message: Message, to nodeID: String) -> RelayOutbound {
        .text(.direct(RelayDirect(target: nodeID, payload: object(message))))
    }

    /// `message` as a JSON object, the form relay payloads take.
    static func object<Message: Encodable>(_ message: Message) -> [String: JSONValue] {
        guard let data = try? WireCoding.encode(message),
            let object = try? JSONDecoder().decode([String: JSONValue].self, from: data)
        else { return [:] }
        return object
    }

    /// `frame` to `nodeID` as a binary `direct` frame: the relay header, then the chunk frame.
    static func binary(_ frame: FastChunkFrame, to nodeID: String) throws -> RelayOutbound {
        guard let header = RelayBinaryFrame.directHeader(nodeID: nodeID) else {
            throw WireError(.invalidValue, "node id \(nodeID) cannot be carried in a binary frame")
        }
        let chunkHeader = try FastChunkFrame.headerBytes(
            requestID: frame.requestID, chunkIndex: frame.chunkIndex, dataLength: frame.data.count, sha256: frame.sha256)
        var buffer = ByteBufferAllocator().buffer(capacity: header.count + chunkHeader.count + frame.data.count)
        buffer.writeBytes(header)
        buffer.writeBytes(chunkHeader)
        buffer.writeBytes(frame.data)
        return .binary(buffer)
    }
}

/// A transfer's relay events merged with a clock: `.tick` every `interval` (at most one
/// waiting: the reader calls `ticked()` when it takes one), until `stop()` or the relay
/// events end.
final class TickingEvents: Sendable {
    enum Event: Sendable {
        case relay(RelayTransferEvent)
        case tick
    }

    let stream: AsyncStream<Event>
    private let tasks: Mutex<[Task<Void, Never>]>
    private let tickPending = Flag()

    private final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    init(_ inbox: AsyncStream<RelayTransferEvent>, every interval: Duration) {
        let (stream, sink) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .unbounded)
        self.stream = stream
        let forward = Task {
            for await event in inbox { sink.yield(.relay(event)) }
            sink.finish()
        }
        let flag = tickPending
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                // Ticks do not pile up behind a busy reader: one waiting is enough.
                if !flag.value.exchange(true, ordering: .relaxed) { sink.yield(.tick) }
            }
        }
        sink.onTermination = { _ in
            forward.cancel()
            ticker.cancel()
        }
        tasks = Mutex([forward, ticker])
    }

    /// The reader took a tick: the next one may be queued.
    func ticked() { tickPending.value.store(false, ordering: .relaxed) }

    func stop() {
        for task in tasks.withLock({ $0 }) { task.cancel() }
    }
}
