import AtmoProtocol
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

extension DashboardRoutes {
    /// What one `/v1/events` stream writes.
    enum Outgoing: Sendable {
        case download(DownloadAPI.Status)
        /// The mesh view's version and its model list's.
        case mesh(UInt64, UInt64)
        case node(UInt64)
        case keepalive
        /// A newer stream of this client's address took this one's place: said, then cut.
        case superseded
    }

    /// The shortest time between two `mesh` (or two `node`) events of one stream.
    static let coalescing = Duration.seconds(1)

    /// `GET /v1/events`: every download's status, then each change (`download`); `mesh`
    /// when the mesh view changed and `node` when what `/v1/node` shows changed, each at
    /// most once a second (one on connect); `: keepalive` every 15 s (the download queue's
    /// clock). Nothing polls: each stream waits on the node's broadcasters. It ends when
    /// the node stops (the download queue ends its streams before the server drains).
    /// At most `NodeAPI.maxEventStreamsPerAddress` per client address: one more closes the
    /// address's oldest (`event: closed`, code `stream_superseded`, then the connection is
    /// cut); `NodeAPI.maxEventStreams` in all: one more from another address is a 503.
    func events(from address: String) -> Response {
        guard let slot = streams.acquire(address: address) else {
            return streams.refusal("event streams", advice: "close a dashboard tab and retry")
        }
        let downloads = node.downloads.subscribe()
        let meshChanges = node.mesh.changes.subscribe()
        let nodeChanges = node.ledger.uploads.changes.subscribe()
        let mesh = node.mesh
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                // The slot is held as long as the body (released when it is dropped, even unwritten).
                withExtendedLifetime(slot) {}
                let (outgoing, sink) = AsyncStream.makeStream(of: Outgoing.self, bufferingPolicy: .bufferingNewest(512))
                let (nodeTriggers, nodeTrigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await event in downloads {
                            switch event {
                            case .status(let status):
                                sink.yield(.download(status))
                                // A download that ended changed the storage.
                                if status.isFinal { nodeTrigger.yield() }
                            case .keepalive:
                                sink.yield(.keepalive)
                            }
                        }
                        sink.finish()
                    }
                    group.addTask {
                        sink.yield(.mesh(mesh.version, mesh.modelsVersion))
                        await Self.coalesce(meshChanges) { _ = sink.yield(.mesh(mesh.version, mesh.modelsVersion)) }
                    }
                    group.addTask {
                        for await _ in nodeChanges { nodeTrigger.yield() }
                    }
                    group.addTask {
                        for await _ in slot.superseded {
                            sink.yield(.superseded)
                            return
                        }
                    }
                    group.addTask {
                        var version: UInt64 = 1
                        sink.yield(.node(version))
                        await Self.coalesce(nodeTriggers) {
                            version += 1
                            sink.yield(.node(version))
                        }
                    }
                    defer { group.cancelAll() }
                    for await event in outgoing {
                        try await writer.write(Self.frame(event))
                        if case .superseded = event { throw EventStreamSlots.Superseded() }
                    }
                }
                withExtendedLifetime(slot) {}
                try await writer.finish(nil)
            })
    }

    /// Calls `emit` for the changes of `changes`, at most once per `coalescing` (changes
    /// that come meanwhile make one call), until the stream ends or the task is cancelled.
    static func coalesce<Element: Sendable>(_ changes: AsyncStream<Element>, emit: () -> Void) async {
        let clock = ContinuousClock()
        var earliest = clock.now
        for await _ in changes {
            if clock.now < earliest {
                do { try await Task.sleep(until: earliest, clock: clock) } catch { return }
            }
            emit()
            earliest = clock.now + coalescing
        }
    }

    /// One event in the `text/event-stream` format.
    static func frame(_ event: Outgoing) -> ByteBuffer {
        switch event {
        case .download(let status): return frame("download", status)
        case .mesh(let version, let models): return frame("mesh", NodeAPI.Change(version: version, modelsVersion: models))
        case .node(let version): return frame("node", NodeAPI.Change(version: version))
        case .keepalive: return ByteBuffer(string: ": keepalive\n\n")
        case .superseded:
            return EventStreamSlots.supersededFrame("event streams", perAddress: NodeAPI.maxEventStreamsPerAddress)
        }
    }

    static func frame<T: Encodable>(_ name: String, _ value: T) -> ByteBuffer {
        let json = (try? WireCoding.encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        return ByteBuffer(string: "event: \(name)\ndata: \(json)\n\n")
    }
}
