import AtmoProtocol
import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore

/// A WebSocket to `/v1/transfers/ws`: a link of the hub with exactly one peer, the node that
/// opened it (it names itself in its first `model_request` or `piece_query`). The frames are
/// what a relay would deliver, without the relay's envelope: JSON transfer messages as text
/// frames, fast-mode chunk frames as binary frames (no relay header). Both ends run this same translation
/// (`DirectSocketFrames`), so the transfers above are the relayed ones.
enum DirectTransferSocket {
    /// Serves one accepted connection until either side closes it.
    static func serve(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, hub: TransferHub, logger: Logger
    ) async throws {
        let linkID = TransferHub.directLinkPrefix + "in-" + UUID().uuidString.lowercased()
        let (outgoing, sink) = AsyncStream.makeStream(of: RelayOutbound.self, bufferingPolicy: .bufferingOldest(1024))
        defer {
            sink.finish()
            hub.linkClosed(linkID)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await DirectSocketFrames.write(outgoing, to: outbound) }
            group.addTask {
                var peer: String? = nil
                for try await message in inbound.messages(maxSize: DirectSocketFrames.maxFrameBytes) {
                    switch message {
                    case .text(let text):
                        guard let payload = DirectSocketFrames.payload(text) else { continue }
                        if peer == nil {
                            // The first message names the peer: a request or a piece query, from a
                            // valid node id.
                            let opening = [ModelRequest.messageType, PieceQuery.messageType]
                            guard let type = payload["type"]?.stringValue, opening.contains(type),
                                let requester = payload["requester_node_id"]?.stringValue, Validation.isValidNodeID(requester)
                            else {
                                logger.debug("direct transfer socket: first message is not a model_request or piece_query")
                                return
                            }
                            peer = requester
                            hub.linkJoined(linkID, relayForwardsBinary: true) { frame in
                                if case .dropped = sink.yield(frame) { return false }
                                return true
                            }
                            hub.peerPresent(linkID, nodeID: requester, capabilities: [RelayBinaryFrame.capability, PieceQueryLimits.capability])
                        }
                        if let peer { hub.received(payload, from: peer, via: linkID) }
                    case .binary(let buffer):
                        if let peer { hub.receivedBinary(buffer, from: peer) }
                    }
                }
            }
            _ = try await group.next()
            group.cancelAll()
        }
    }
}

/// The frames of a direct transfer socket, in both directions.
enum DirectSocketFrames {
    /// The largest frame: a 4 MiB chunk and its header, or a large JSON chunk.
    static let maxFrameBytes = (4 << 20) + 4096

    /// A text frame's JSON object, or nil.
    static func payload(_ text: String) -> [String: JSONValue]? {
        try? JSONDecoder().decode([String: JSONValue].self, from: Data(text.utf8))
    }

    /// Writes the hub's frames for this link: the payload of a `direct` as a text frame, a
    /// binary `direct` without its relay header. Other messages have no meaning here.
    static func write(_ frames: AsyncStream<RelayOutbound>, to outbound: WebSocketOutboundWriter) async throws {
        for await frame in frames {
            switch frame {
            case .text(.direct(let direct)):
                let data = try WireCoding.encode(direct.payload)
                try await outbound.write(.text(String(decoding: data, as: UTF8.self)))
            case .text:
                continue
            case .binary(var buffer):
                guard let prefix = buffer.getBytes(at: buffer.readerIndex, length: min(buffer.readableBytes, 66)),
                    let header = try? RelayBinaryFrame.parseDirectHeader(prefix)
                else { continue }
                buffer.moveReaderIndex(forwardBy: header.length)
                try await outbound.write(.binary(buffer))
            }
        }
    }
}
