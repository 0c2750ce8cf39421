import AtmoProtocol
import AtmoTransfer
import Foundation
import Logging
import NIOCore
import Synchronization
import WSClient

/// This node's WebSocket to one provider's `/v1/transfers/ws`, for the pull that uses it: a
/// hub link with that provider as its only peer (see `DirectTransferSocket`). Opened on the
/// first piece, closed when the pull is done with the source.
final class DirectSocketLink: Sendable {
    let url: String
    let nodeID: String
    let hub: RelayHub
    let logger: Logger
    /// The hub's id of this link.
    let linkID: String
    private let connection = Mutex<Task<Void, Never>?>(nil)
    /// Set when opening failed: later pieces of the same pull fail at once instead of waiting again.
    private let openFailed = Atomic<Bool>(false)

    /// How long connecting and the upgrade may take.
    static let openTimeout = Duration.seconds(5)

    init(url: String, nodeID: String, hub: RelayHub, logger: Logger) {
        self.url = url
        self.nodeID = nodeID
        self.hub = hub
        self.logger = logger
        linkID = RelayHub.directLinkPrefix + "out-" + UUID().uuidString.lowercased()
    }

    deinit { connection.withLock { $0?.cancel() } }

    /// Connects if not connected; throws when the provider's socket does not open in time.
    func open() async throws(TransferError) {
        guard !openFailed.load(ordering: .relaxed) else {
            throw TransferError(.peerUnreachable, "\(url) did not open a WebSocket")
        }
        connection.withLock { task in
            guard task == nil else { return }
            task = Task { [url, nodeID, hub, linkID, logger] in
                await Self.run(url: url, nodeID: nodeID, hub: hub, linkID: linkID, logger: logger)
            }
        }
        guard await hub.waitForRoute(to: nodeID, via: linkID, timeout: Self.openTimeout) != nil else {
            openFailed.store(true, ordering: .relaxed)
            close()
            throw TransferError(.peerUnreachable, "\(url) did not open a WebSocket within \(Self.openTimeout)")
        }
    }

    /// Closes the socket (the next `open` connects again).
    func close() {
        connection.withLock { task in
            task?.cancel()
            task = nil
        }
        hub.linkClosed(linkID)
    }

    private static func run(url: String, nodeID: String, hub: RelayHub, linkID: String, logger: Logger) async {
        let (outgoing, sink) = AsyncStream.makeStream(of: RelayOutbound.self, bufferingPolicy: .bufferingOldest(1024))
        var configuration = WebSocketClientConfiguration()
        configuration.maxFrameSize = DirectSocketFrames.maxFrameBytes
        do {
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                hub.linkJoined(linkID, relayForwardsBinary: true) { frame in
                    if case .dropped = sink.yield(frame) { return false }
                    return true
                }
                hub.peerPresent(linkID, nodeID: nodeID, capabilities: [RelayBinaryFrame.capability])
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await DirectSocketFrames.write(outgoing, to: outbound) }
                    group.addTask {
                        for try await message in inbound.messages(maxSize: DirectSocketFrames.maxFrameBytes) {
                            switch message {
                            case .text(let text):
                                if let payload = DirectSocketFrames.payload(text) { hub.received(payload, from: nodeID, via: linkID) }
                            case .binary(let buffer):
                                hub.receivedBinary(buffer, from: nodeID)
                            }
                        }
                    }
                    _ = try await group.next()
                    group.cancelAll()
                }
                try? await outbound.close(.normalClosure, reason: nil)
            }
        } catch {
            logger.debug("direct transfer socket ended", metadata: ["url": "\(url)", "error": "\(error)"])
        }
        sink.finish()
        hub.linkClosed(linkID)
    }
}
