import AtmoRelay
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

extension RelayHub {
    /// Serves one WebSocket connection to `/relay/{meshID}` until it closes. Three parts run
    /// side by side: the reader (this task) hands each message to the state machine; the
    /// writer drains the connection's bounded send queue, so nothing else ever waits for
    /// this peer's socket; the watchdog closes the socket outright when a close the relay
    /// asked for is not through after `closeTimeout` (a peer that stopped reading).
    ///
    /// Errors of the inbound stream (a message over the size limit, a protocol error) are
    /// rethrown, so the WebSocket layer closes with the matching code.
    func serve(
        meshID: String, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, channel: any Channel
    ) async throws {
        guard let (conn, queue) = open(meshID: meshID) else {
            try? await outbound.close(.goingAway, reason: "relay shutting down")
            return
        }
        let logger = logger.with(connection: conn, meshID: meshID)
        logger.debug("relay connection opened", metadata: ["remote": "\(channel.remoteAddress.map { "\($0)" } ?? "-")"])
        let closeTimeout = configuration.closeTimeout
        let readError: (any Error)? = await withTaskGroup(of: Void.self) { group in
            group.addTask { await Self.write(queue, to: outbound) }
            group.addTask { await Self.watch(queue, channel: channel, closeTimeout: closeTimeout, logger: logger) }
            var readError: (any Error)?
            do {
                try await read(inbound, on: conn)
            } catch {
                readError = error
            }
            closed(conn)
            group.cancelAll()
            return readError
        }
        logger.debug("relay connection closed", metadata: ["error": "\(readError.map { "\($0)" } ?? "-")"])
        if let readError { throw readError }
    }

    private func read(_ inbound: WebSocketInboundStream, on conn: ConnectionID) async throws {
        for try await message in inbound.messages(maxSize: configuration.maxMessageBytes) {
            switch message {
            case .text(let text): await received(text: text, on: conn)
            case .binary(let frame): received(binary: frame, on: conn)
            }
        }
    }

    /// Writes what the relay queued for the peer, in order, ending with a close frame when
    /// the relay closes the connection. Stops when the connection is gone.
    private static func write(_ queue: SendQueue, to outbound: WebSocketOutboundWriter) async {
        while true {
            switch await queue.next() {
            case .frame(let frame):
                let opcode: WebSocketOpcode = frame.kind == .text ? .text : .binary
                do {
                    try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: opcode, data: frame.data)))
                } catch {
                    return  // the socket is closed: the reader ends too
                }
            case .close(let code, let reason):
                try? await outbound.close(WebSocketErrorCode(codeNumber: Int(code)), reason: reason)
                return
            case .stop:
                return
            }
        }
    }

    /// Once the relay asks for a close, gives the peer `closeTimeout` to read what is queued
    /// and answer, then closes the socket.
    private static func watch(_ queue: SendQueue, channel: any Channel, closeTimeout: Duration, logger: Logger) async {
        guard await queue.closeRequested() else { return }
        do {
            try await Task.sleep(for: closeTimeout)
        } catch {
            return  // the connection ended in time
        }
        logger.debug("peer did not complete the close in time; closing its socket")
        channel.close(promise: nil)
    }
}

extension Logger {
    fileprivate func with(connection: ConnectionID, meshID: String) -> Logger {
        var logger = self
        logger[metadataKey: "connection"] = "\(connection)"
        logger[metadataKey: "mesh_id"] = "\(meshID)"
        return logger
    }
}
