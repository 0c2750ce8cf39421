import AtmoProtocol
import AtmoRelay
import Foundation
import Logging
import NIOCore
import Synchronization
import WSClient

/// This node's connection to one relay, kept up until cancelled: it connects, introduces
/// itself (`RelayClientSession`), tells the mesh view which peers are there, broadcasts this
/// node's catalog when it joins and whenever it is published, sends it directly to each peer
/// that joins later, and merges the catalogs the others broadcast. A lost connection is
/// retried with jittered backoff (`RelayBackoff`); a refusal (bad token, full mesh, a mesh
/// the relay does not know yet) too, from about a second up to `RelayBackoff.refusedMs`.
struct RelayLink: Sendable {
    /// The WebSocket URL, `.../relay/{mesh_id}`.
    let url: String
    let introduction: RelayIntroduction
    let mesh: MeshState
    let hub: TransferHub
    let logger: Logger

    /// How often the session's clock ticks (pings, silence detection).
    static let tickInterval = Duration.seconds(2)
    /// The largest frame accepted from the relay (a catalog of many models is large).
    static let maxFrameBytes = 4 << 20

    /// Refusals in a row logged at info level before they are warnings (about 7 s of them).
    static let quietRefusals = 3

    /// How long the TCP connection and the WebSocket upgrade may take.
    static let handshakeTimeout = Duration.seconds(10)

    enum Attempt {
        case finished((any Error)?)
        case handshakeTimedOut
    }

    /// Waits until `connection` ends, or until `handshakeTimeout` passed without an upgrade.
    static func finishedOrHandshakeTimeout(_ connection: Task<WebSocketCloseFrame?, any Error>, context: LinkContext) async -> Attempt {
        let (results, sink) = AsyncStream.makeStream(of: Attempt.self)
        let waiter = Task {
            do {
                _ = try await connection.value
                sink.yield(.finished(nil))
            } catch {
                sink.yield(.finished(error))
            }
        }
        let watchdog = Task {
            try? await Task.sleep(for: handshakeTimeout)
            if !context.isUpgraded { sink.yield(.handshakeTimedOut) }
        }
        defer {
            watchdog.cancel()
            sink.finish()
        }
        for await result in results {
            if case .handshakeTimedOut = result { waiter.cancel() }
            return result
        }
        return .finished(nil)
    }

    /// How one connection ended.
    enum Ending: Sendable {
        /// Never admitted (could not connect, or the relay went away first).
        case failed(String)
        /// Admitted, then lost.
        case lost(String)
        /// The relay refused this node's hello.
        case refused(String)

        var reason: String {
            switch self {
            case .failed(let reason), .lost(let reason), .refused(let reason): reason
            }
        }
    }

    func run() async {
        var backoff = RelayBackoff()
        var random = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            let ending = await connectOnce()
            let delayMs: Int64
            switch ending {
            case .failed(let reason):
                delayMs = backoff.nextDelay(using: &random)
                logger.debug("relay connection failed", metadata: ["relay": "\(url)", "reason": "\(reason)"])
            case .lost(let reason):
                backoff.succeeded()
                delayMs = backoff.nextDelay(using: &random)
                logger.info("relay connection lost, reconnecting", metadata: ["relay": "\(url)", "reason": "\(reason)"])
            case .refused(let reason):
                delayMs = backoff.nextRefusedDelay(using: &random)
                // The first refusals are often a relay that restarted and does not know the
                // mesh until its founder is back: only a refusal that persists is a warning.
                let level: Logger.Level = backoff.refusals > Self.quietRefusals ? .warning : .info
                logger.log(
                    level: level,
                    """
                    the relay refused this node: \(reason). Check the mesh membership (`atmo mesh status`); \
                    an expired invite needs a new one (`atmo mesh invite` on the founder's node).
                    """,
                    metadata: ["relay": "\(url)", "retry_in_ms": "\(delayMs)"])
            }
            do { try await Task.sleep(for: .milliseconds(delayMs)) } catch { return }
        }
    }

    /// One connection, from connect to close.
    private func connectOnce() async -> Ending {
        let (outgoing, sink) = AsyncStream.makeStream(of: RelayOutbound.self, bufferingPolicy: .bufferingOldest(1024))
        let context = LinkContext(link: self, sink: sink)
        var configuration = WebSocketClientConfiguration()
        configuration.maxFrameSize = Self.maxFrameBytes
        let connection = Task { [url, logger] in
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                context.upgraded()
                context.perform(context.session.withLock { $0.connected(now: MeshState.now()) })
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await frame in outgoing {
                            switch frame {
                            case .text(let message):
                                try await outbound.write(.text(String(decoding: try RelayCoding.encode(message), as: UTF8.self)))
                            case .binary(let buffer):
                                try await outbound.write(.binary(buffer))
                            }
                        }
                    }
                    group.addTask {
                        while !Task.isCancelled {
                            try await Task.sleep(for: Self.tickInterval)
                            context.perform(context.session.withLock { $0.tick(now: MeshState.now()) })
                            if context.outcome.withLock({ $0 }) != nil { return }
                        }
                    }
                    group.addTask {
                        for await catalog in mesh.ownCatalogs.subscribe() {
                            mesh.gossipCounters.sent(.relay)
                            context.perform(context.session.withLock { $0.broadcast(RelayPayload.object(catalog)) })
                        }
                    }
                    group.addTask {
                        for try await message in inbound.messages(maxSize: Self.maxFrameBytes) {
                            switch message {
                            case .text(let text): context.receive(text)
                            case .binary(let buffer): context.receiveBinary(buffer)
                            }
                            if context.outcome.withLock({ $0 }) != nil { return }
                        }
                    }
                    _ = try await group.next()
                    group.cancelAll()
                }
                try? await outbound.close(.normalClosure, reason: context.outcome.withLock { $0 }?.reason)
            }
        }
        // A relay that accepts the TCP connection but never answers the upgrade (one behind a
        // load balancer while it restarts) would hold this link forever: past the deadline
        // the attempt is abandoned (its task is cancelled and left to end on its own).
        let attempt = await withTaskCancellationHandler {
            await Self.finishedOrHandshakeTimeout(connection, context: context)
        } onCancel: {
            connection.cancel()
        }
        switch attempt {
        case .finished(let error):
            if let error { context.outcome.withLock { if $0 == nil { $0 = .failed("\(error)") } } }
        case .handshakeTimedOut:
            connection.cancel()
            context.outcome.withLock { if $0 == nil { $0 = .failed("no WebSocket handshake within \(Self.handshakeTimeout)") } }
        }
        sink.finish()
        hub.linkClosed(url)
        context.perform(context.session.withLock { $0.disconnected() })
        let wasJoined = context.wasJoined
        return context.outcome.withLock { $0 } ?? (wasJoined ? .lost("the relay closed the connection") : .failed("closed before joining"))
    }
}
