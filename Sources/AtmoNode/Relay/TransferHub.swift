import AtmoProtocol
import AtmoTransfer
import Foundation
import Logging
import NIOCore
import Synchronization

/// Something a relay link sends: a relay message as a text frame, or a binary `direct` frame
/// (header included).
enum RelayOutbound: Sendable {
    case text(RelayMessage)
    case binary(ByteBuffer)
}

/// A transfer message that arrived through a relay for one request.
enum RelayTransferEvent: Sendable {
    /// A JSON transfer message (`model_transfer_start`, `_chunk`, `_chunk_ack`, `_complete`, `_cancel`).
    case message(Message)
    /// A binary payload (a fast-mode chunk frame).
    case binary(ByteBuffer)
    /// An answer to a piece query (`piece_have`, `piece_manifest`, `piece_unavailable`).
    case pieces(PieceQueryMessage)
    /// The relay path to the other node is gone (its link closed, or it left the mesh).
    case pathLost(String)
    /// The other node sent a message for this request that does not decode (what is wrong
    /// with it): a protocol error of that node, which ends the transfer at once.
    case unreadable(String)
}

/// Where the node's relay links meet its relayed transfers: which relay reaches which peer
/// (and whether both ends take binary frames), sending a payload to a peer, and handing the
/// transfer messages that arrive to the transfer they belong to (by `request_id`) or, for a
/// new `model_request`, to the provider.
final class TransferHub: Sendable {
    /// One relay link as the hub sees it.
    struct Link: Sendable {
        /// Queues a frame on the link; false when the link is gone or overloaded.
        var send: @Sendable (RelayOutbound) -> Bool
        /// The relay forwards binary frames (`binary_direct` in its `joined`).
        var relayForwardsBinary: Bool
        /// The peers present on this relay, with their capabilities.
        var peers: [String: [String]] = [:]
    }

    /// A route to a peer: the link to use and whether binary frames reach it.
    struct Route: Sendable {
        let relay: String
        let binary: Bool
        let send: @Sendable (RelayOutbound) -> Bool
        /// The peer answers piece queries (it announced `piece_queries`).
        var answersPieceQueries = false
    }

    private struct State {
        var links: [String: Link] = [:]
        var inboxes: [String: (peer: String, continuation: AsyncStream<RelayTransferEvent>.Continuation)] = [:]
    }

    private let state = Mutex(State())
    /// New `model_request`s from peers, with the link they came through, for the provider.
    let requests: AsyncStream<(request: ModelRequest, from: String, link: String)>
    private let requestSink: AsyncStream<(request: ModelRequest, from: String, link: String)>.Continuation
    /// A consumer's report on a whole pull (`model_transfer_complete` or `_cancel` for a
    /// request no transfer waits for), for the provider's ledger.
    let reports: AsyncStream<TransferReport>
    private let reportSink: AsyncStream<TransferReport>.Continuation
    /// Piece queries from peers (`piece_query`), with the link they came through, for the provider.
    let queries: AsyncStream<(query: PieceQuery, from: String, link: String)>
    private let querySink: AsyncStream<(query: PieceQuery, from: String, link: String)>.Continuation
    /// Whether this node takes binary frames itself (it joins with the `binary_direct` capability).
    let acceptsBinary: Bool
    /// Undecodable messages for no transfer of their sender, dropped (`TransferHub+Unreadable`).
    let unreadableDropped = Atomic<Int>(0)
    let logger: Logger

    init(acceptsBinary: Bool = true, logger: Logger = Logger(label: "atmo.relay.transfers")) {
        self.acceptsBinary = acceptsBinary
        self.logger = logger
        (requests, requestSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
        (reports, reportSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
        (queries, querySink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
    }

    // MARK: - Links

    /// A link joined its mesh.
    func linkJoined(_ relay: String, relayForwardsBinary: Bool, send: @escaping @Sendable (RelayOutbound) -> Bool) {
        state.withLock { $0.links[relay] = Link(send: send, relayForwardsBinary: relayForwardsBinary) }
    }

    /// A link closed: transfers whose peer is on no other link lose their path.
    func linkClosed(_ relay: String) {
        let lost = state.withLock { state -> [AsyncStream<RelayTransferEvent>.Continuation] in
            state.links[relay] = nil
            return state.inboxes.values.filter { entry in !state.links.values.contains { $0.peers[entry.peer] != nil } }
                .map(\.continuation)
        }
        for continuation in lost { continuation.yield(.pathLost("the relay connection closed")) }
    }

    func peerPresent(_ relay: String, nodeID: String, capabilities: [String]) {
        state.withLock { $0.links[relay]?.peers[nodeID] = capabilities }
    }

    func peerGone(_ relay: String, nodeID: String) {
        let lost = state.withLock { state -> [AsyncStream<RelayTransferEvent>.Continuation] in
            state.links[relay]?.peers[nodeID] = nil
            guard !state.links.values.contains(where: { $0.peers[nodeID] != nil }) else { return [] }
            return state.inboxes.values.filter { $0.peer == nodeID }.map(\.continuation)
        }
        for continuation in lost { continuation.yield(.pathLost("node \(nodeID) left the relay")) }
    }

    /// The ids of the links open now (relays, and `directLinkPrefix` ones), for the metrics.
    var linkIDs: [String] { state.withLock { Array($0.links.keys) } }

    /// The links open now, with how many peers each has (the dashboard's `GET /v1/node`).
    var linkPeerCounts: [String: Int] { state.withLock { $0.links.mapValues(\.peers.count) } }

    /// The prefix of the ids of links that are a direct WebSocket to one node (not a relay).
    static let directLinkPrefix = "direct:"

    /// The best route to `nodeID`: over the link `via` when given, else a relay where it is
    /// present (direct links are used only when asked for), binary-capable first.
    func route(to nodeID: String, via: String? = nil) -> Route? {
        state.withLock { state in
            let candidates = state.links.filter { id, link in
                link.peers[nodeID] != nil && (via.map { $0 == id } ?? !id.hasPrefix(Self.directLinkPrefix))
            }.map { relay, link in
                let binary =
                    acceptsBinary && link.relayForwardsBinary && (link.peers[nodeID] ?? []).contains(RelayBinaryFrame.capability)
                let queries = (link.peers[nodeID] ?? []).contains(PieceQueryLimits.capability)
                return Route(relay: relay, binary: binary, send: link.send, answersPieceQueries: queries)
            }
            return candidates.sorted { ($0.binary ? 0 : 1, $0.relay) < ($1.binary ? 0 : 1, $1.relay) }.first
        }
    }

    /// The best route to `nodeID` (over `via` when given), waiting up to `timeout` for one
    /// (a relay restarting, a link reconnecting); nil when none came.
    func waitForRoute(to nodeID: String, via: String? = nil, timeout: Duration) async -> Route? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let route = route(to: nodeID, via: via) { return route }
            guard ContinuousClock.now < deadline, !Task.isCancelled else { return nil }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Whether `nodeID` can be reached through any relay now.
    func reaches(_ nodeID: String) -> Bool { route(to: nodeID) != nil }

    // MARK: - Transfers

    /// The events for `requestID`, exchanged with `peer`, until `close(requestID)`.
    func open(requestID: String, peer: String) -> AsyncStream<RelayTransferEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: RelayTransferEvent.self, bufferingPolicy: .bufferingOldest(4096))
        let replaced = state.withLock { state in
            defer { state.inboxes[requestID] = (peer, continuation) }
            return state.inboxes[requestID]?.continuation
        }
        replaced?.finish()
        return stream
    }

    func close(requestID: String) {
        state.withLock { $0.inboxes.removeValue(forKey: requestID) }?.continuation.finish()
    }

    /// A JSON payload from `sender` (through `link`) that is not a catalog: a new request goes
    /// to the provider, anything else to its transfer (dropped when none waits for it, or when it
    /// comes from another node than the transfer's peer).
    func received(_ payload: [String: JSONValue], from sender: String, via link: String) {
        let message: Message
        do {
            let data = try WireCoding.encode(payload)
            if let type = payload["type"]?.stringValue, PieceQueryMessage.types.contains(type) {
                receivedPieces(try PieceQueryMessage.decode(type: type, from: data), from: sender, via: link)
                return
            }
            message = try WireCoding.decodeMessage(data)
        } catch {
            unreadable(payload, from: sender, error: error)
            return
        }
        switch message {
        case .request(let request):
            requestSink.yield((request, sender, link))
        case .transferStart(let value): deliver(.message(message), requestID: value.requestID, from: sender)
        case .chunk(let value): deliver(.message(message), requestID: value.requestID, from: sender)
        case .chunkAck(let value): deliver(.message(message), requestID: value.requestID, from: sender)
        case .complete(let value):
            if !deliver(.message(message), requestID: value.requestID, from: sender) { reportSink.yield(.complete(value)) }
        case .cancel(let value):
            if !deliver(.message(message), requestID: value.requestID, from: sender) { reportSink.yield(.cancel(value)) }
        case .catalog, .progress, .unknown:
            break
        }
    }

    /// A piece query goes to the provider; an answer to the query that waits for it.
    private func receivedPieces(_ message: PieceQueryMessage?, from sender: String, via link: String) {
        switch message {
        case .query(let query): querySink.yield((query, sender, link))
        case .some(let answer): deliver(.pieces(answer), requestID: answer.requestID, from: sender)
        case nil: break
        }
    }

    /// A binary payload from `sender`, for the transfer whose `requestID` its frame names.
    func receivedBinary(_ payload: ByteBuffer, from sender: String) {
        guard let requestID = Self.requestID(ofBinaryPayload: payload) else { return }
        deliver(.binary(payload), requestID: requestID, from: sender)
    }

    /// The request id a fast-mode chunk frame names; nil for anything else.
    static func requestID(ofBinaryPayload payload: ByteBuffer) -> String? {
        try? FastChunkFrame.parseHeader(payload.readableBytesView).requestID
    }

    /// Hands `event` to the transfer of `requestID` if one waits for it from `sender`.
    @discardableResult
    func deliver(_ event: RelayTransferEvent, requestID: String, from sender: String) -> Bool {
        let inbox = state.withLock { state -> AsyncStream<RelayTransferEvent>.Continuation? in
            guard let entry = state.inboxes[requestID], entry.peer == sender else { return nil }
            return entry.continuation
        }
        inbox?.yield(event)
        return inbox != nil
    }
}
