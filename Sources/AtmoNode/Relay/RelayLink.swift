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
/// retried with jittered backoff (`RelayBackoff`); a refusal (bad token, full mesh) only
/// after `RelayBackoff.refusedMs`.
struct RelayLink: Sendable {
    /// The WebSocket URL, `.../relay/{mesh_id}`.
    let url: String
    let introduction: RelayIntroduction
    let mesh: MeshState
    let hub: RelayHub
    let logger: Logger

    /// How often the session's clock ticks (pings, silence detection).
    static let tickInterval = Duration.seconds(2)
    /// The largest frame accepted from the relay (a catalog of many models is large).
    static let maxFrameBytes = 4 << 20

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
                delayMs = backoff.refusedMs
                logger.warning(
                    """
                    the relay refused this node: \(reason). Check the mesh membership (`atmo mesh status`); \
                    an expired invite needs a new one (`atmo mesh invite` on the founder's node).
                    """,
                    metadata: ["relay": "\(url)"])
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
        do {
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
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
                            context.perform(context.session.withLock { $0.broadcast(Self.payload(of: catalog)) })
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
        } catch {
            context.outcome.withLock { if $0 == nil { $0 = .failed("\(error)") } }
        }
        sink.finish()
        hub.linkClosed(url)
        context.perform(context.session.withLock { $0.disconnected() })
        let wasJoined = context.wasJoined
        return context.outcome.withLock { $0 } ?? (wasJoined ? .lost("the relay closed the connection") : .failed("closed before joining"))
    }

    /// A catalog as a relay payload (a JSON object).
    static func payload(of catalog: ModelCatalog) -> [String: JSONValue] {
        guard let data = try? WireCoding.encode(catalog),
            let object = try? JSONDecoder().decode([String: JSONValue].self, from: data)
        else { return [:] }
        return object
    }
}

/// What one connection's tasks share: performing the session's actions.
private final class LinkContext: Sendable {
    let link: RelayLink
    let session: Mutex<RelayClientSession>
    /// Set once the connection must end, with why.
    let outcome = Mutex<RelayLink.Ending?>(nil)
    let sink: AsyncStream<RelayOutbound>.Continuation
    private let joined = Atomic<Bool>(false)

    init(link: RelayLink, sink: AsyncStream<RelayOutbound>.Continuation) {
        self.link = link
        session = Mutex(RelayClientSession(hello: link.introduction.hello))
        self.sink = sink
    }

    var wasJoined: Bool { joined.load(ordering: .relaxed) }

    func receive(_ text: String) {
        let message: RelayMessage
        do {
            message = try RelayCoding.decode(text)
        } catch {
            link.logger.debug("unreadable relay message", metadata: ["relay": "\(link.url)", "error": "\(error)"])
            return
        }
        perform(session.withLock { $0.received(message, now: MeshState.now()) })
    }

    /// A binary `direct` frame: the relay put the sender's node id in its header.
    func receiveBinary(_ frame: ByteBuffer) {
        guard let bytes = frame.getBytes(at: frame.readerIndex, length: min(frame.readableBytes, 2 + RelayBinaryFrame.maxNodeIDBytes)),
            let header = try? RelayBinaryFrame.parseDirectHeader(bytes),
            session.withLock({ $0.peers[header.nodeID] != nil })
        else {
            link.logger.debug("unreadable binary frame from the relay", metadata: ["relay": "\(link.url)"])
            return
        }
        link.hub.receivedBinary(frame.getSlice(at: frame.readerIndex + header.length, length: frame.readableBytes - header.length)!, from: header.nodeID)
    }

    func perform(_ actions: [RelayClientSession.Action]) {
        for action in actions {
            switch action {
            case .send(let message):
                if case .dropped = sink.yield(.text(message)) {
                    outcome.withLock { if $0 == nil { $0 = .lost("the relay does not take our messages fast enough") } }
                }
            case .joined(let meshID, let features):
                joined.store(true, ordering: .relaxed)
                let sink = self.sink
                link.hub.linkJoined(link.url, relayForwardsBinary: features.contains(RelayBinaryFrame.capability)) { frame in
                    if case .dropped = sink.yield(frame) { return false }
                    return true
                }
                link.logger.info(
                    "joined the mesh on a relay", metadata: ["relay": "\(link.url)", "mesh_id": "\(meshID)", "features": "\(features)"])
                perform(session.withLock { $0.broadcast(RelayLink.payload(of: link.mesh.ownCatalog)) })
            case .peerPresent(let peer, let isNew):
                link.mesh.relayPeerPresent(nodeID: peer.nodeID, name: peer.name, relay: link.url)
                link.hub.peerPresent(link.url, nodeID: peer.nodeID, capabilities: peer.capabilities)
                // A newcomer learns this node at once (it missed the broadcasts before it joined).
                if isNew {
                    perform(session.withLock { $0.direct(RelayLink.payload(of: link.mesh.ownCatalog), to: peer.nodeID) })
                }
            case .peerGone(let nodeID):
                link.hub.peerGone(link.url, nodeID: nodeID)
                link.mesh.relayPeerGone(nodeID: nodeID, relay: link.url)
            case .payload(let from, let payload):
                receivePayload(payload, from: from)
            case .refused(let code, let message):
                outcome.withLock { if $0 == nil { $0 = .refused("\(code ?? "error"): \(message)") } }
            case .reconnect(let reason):
                outcome.withLock { if $0 == nil { $0 = .lost(reason) } }
            }
        }
    }

    /// A payload from a peer: catalogs are merged into the mesh view, transfer messages go
    /// to the hub.
    private func receivePayload(_ payload: [String: JSONValue], from sender: String) {
        guard payload["type"]?.stringValue == ModelCatalog.messageType else {
            link.hub.received(payload, from: sender)
            return
        }
        do {
            let catalog = try WireCoding.decode(ModelCatalog.self, from: try WireCoding.encode(payload))
            if !link.mesh.receiveOverRelay(catalog, from: sender) {
                link.logger.debug("relay catalog of another node ignored", metadata: ["from": "\(sender)", "origin": "\(catalog.nodeID)"])
            }
        } catch {
            link.logger.debug("invalid catalog over relay", metadata: ["from": "\(sender)", "error": "\(error)"])
        }
    }
}
