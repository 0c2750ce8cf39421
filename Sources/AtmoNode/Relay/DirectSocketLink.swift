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
    let hub: TransferHub
    let logger: Logger
    /// The hub's id of this link.
    let linkID: String
    private let connection = Mutex<Task<Void, Never>?>(nil)
    /// The number of the current connection attempt, and why the last attempt that ended
    /// ended (its number, the error): a refused or failed connect fails `open` at once.
    private let attempts = Attempts()
    /// Set when opening failed: later pieces of the same pull fail at once instead of waiting again.
    private let openFailed = Atomic<Bool>(false)

    /// How long connecting and the upgrade may take, by default.
    static let defaultOpenTimeout = Duration.seconds(5)
    /// How long connecting and the upgrade may take.
    let openTimeout: Duration
    /// How often `open` looks whether the socket opened or its attempt ended.
    static let openPollInterval = Duration.milliseconds(10)

    init(
        url: String, nodeID: String, hub: TransferHub, logger: Logger, openTimeout: Duration = DirectSocketLink.defaultOpenTimeout
    ) {
        self.url = url
        self.openTimeout = openTimeout
        self.nodeID = nodeID
        self.hub = hub
        self.logger = logger
        linkID = TransferHub.directLinkPrefix + "out-" + UUID().uuidString.lowercased()
    }

    deinit { connection.withLock { $0?.cancel() } }

    /// Connects if not connected; throws when the provider's socket does not open in time,
    /// or at once when connecting fails (refused, unreachable, upgrade refused).
    func open() async throws(TransferError) {
        guard !openFailed.load(ordering: .relaxed) else {
            throw TransferError(.peerUnreachable, "\(url) did not open a WebSocket")
        }
        let attempt = connection.withLock { task -> Int in
            guard task == nil else { return attempts.state.withLock { $0.current } }
            let attempt = attempts.state.withLock { state in
                state.current += 1
                return state.current
            }
            task = Task { [url, nodeID, hub, linkID, logger, attempts] in
                let reason = await Self.run(url: url, nodeID: nodeID, hub: hub, linkID: linkID, logger: logger)
                attempts.state.withLock { $0.ended = (attempt, reason) }
            }
            return attempt
        }
        let deadline = ContinuousClock.now + openTimeout
        while hub.route(to: nodeID, via: linkID) == nil {
            if let ended = attempts.state.withLock({ $0.ended }), ended.attempt == attempt {
                fail()
                throw TransferError(.peerUnreachable, "\(url) did not open a WebSocket: \(ended.reason)")
            }
            guard ContinuousClock.now < deadline, !Task.isCancelled else {
                fail()
                throw TransferError(.peerUnreachable, "\(url) did not open a WebSocket within \(openTimeout)")
            }
            try? await Task.sleep(for: Self.openPollInterval)
        }
    }

    final class Attempts: Sendable {
        let state = Mutex<(current: Int, ended: (attempt: Int, reason: String)?)>((0, nil))
    }

    private func fail() {
        openFailed.store(true, ordering: .relaxed)
        close()
    }

    /// Closes the socket (the next `open` connects again).
    func close() {
        connection.withLock { task in
            task?.cancel()
            task = nil
        }
        hub.linkClosed(linkID)
    }

    /// Connects and carries the frames until the socket closes; returns why it ended.
    private static func run(url: String, nodeID: String, hub: TransferHub, linkID: String, logger: Logger) async -> String {
        let (outgoing, sink) = AsyncStream.makeStream(of: RelayOutbound.self, bufferingPolicy: .bufferingOldest(1024))
        var configuration = WebSocketClientConfiguration()
        configuration.maxFrameSize = DirectSocketFrames.maxFrameBytes
        do {
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                hub.linkJoined(linkID, relayForwardsBinary: true) { frame in
                    if case .dropped = sink.yield(frame) { return false }
                    return true
                }
                // A provider of before piece queries closes a socket that opens with one
                // (`RelaySourceChannel+Pieces` then reconnects for the pieces).
                hub.peerPresent(linkID, nodeID: nodeID, capabilities: [RelayBinaryFrame.capability, PieceQueryLimits.capability])
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
            sink.finish()
            hub.linkClosed(linkID)
            return "\(error)"
        }
        sink.finish()
        hub.linkClosed(linkID)
        return "the socket closed"
    }
}
