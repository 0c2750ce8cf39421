import AtmoProtocol
import AtmoRelay
import Foundation
import Logging
import NIOCore
import Synchronization

/// What one connection's tasks share: performing the session's actions.
final class LinkContext: Sendable {
    let link: RelayLink
    let session: Mutex<RelayClientSession>
    /// Set once the connection must end, with why.
    let outcome = Mutex<RelayLink.Ending?>(nil)
    let sink: AsyncStream<RelayOutbound>.Continuation
    private let joined = Atomic<Bool>(false)
    private let upgradedFlag = Atomic<Bool>(false)

    /// The WebSocket upgrade succeeded.
    func upgraded() { upgradedFlag.store(true, ordering: .relaxed) }
    var isUpgraded: Bool { upgradedFlag.load(ordering: .relaxed) }

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
                // A fresh publication (new timestamp), broadcast by every link: peers that
                // dropped this node while the relay was away take it as news again.
                link.mesh.update { state, now in state.gossip.republish(now: now) }
            case .peerPresent(let peer, let isNew):
                link.mesh.relayPeerPresent(nodeID: peer.nodeID, name: peer.name, relay: link.url)
                link.hub.peerPresent(link.url, nodeID: peer.nodeID, capabilities: peer.capabilities)
                // A newcomer learns this node at once (it missed the broadcasts before it joined).
                if isNew {
                    perform(session.withLock { $0.direct(RelayPayload.object(link.mesh.ownCatalog), to: peer.nodeID) })
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
            link.hub.received(payload, from: sender, via: link.url)
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
