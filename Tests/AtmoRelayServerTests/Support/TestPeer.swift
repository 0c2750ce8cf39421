import AtmoProtocol
import Foundation
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import WSClient

/// What a test peer saw, in order.
enum PeerEvent: Sendable, CustomStringConvertible {
    /// A text frame, as received.
    case text(String)
    /// A binary frame, byte for byte.
    case binary([UInt8])
    /// The connection ended; `code` and `reason` of the relay's close frame, if it sent one.
    case closed(code: UInt16?, reason: String?)
    /// The connection failed (for example, the upgrade was refused).
    case failed(String)

    var description: String {
        switch self {
        case .text(let text): "text(\(text.prefix(200)))"
        case .binary(let bytes): "binary(\(bytes.count) bytes)"
        case .closed(let code, let reason): "closed(\(code.map(String.init) ?? "-"), \(reason ?? "-"))"
        case .failed(let error): "failed(\(error))"
        }
    }
}

/// A relay client for tests: a real WebSocket (WSClient) whose received frames go to a
/// mailbox the test reads with timeouts. A peer made with `reading: false` does not read
/// its socket until `startReading()` (a slow consumer).
final class TestPeer: Sendable {
    enum Command: Sendable {
        case text(String)
        case binary([UInt8])
        case close
    }

    let name: String
    let inbox = Mailbox<PeerEvent>()
    private let commands: AsyncStream<Command>.Continuation
    private let reading: Gate
    private let task: Task<Void, Never>

    init(url: String, name: String, reading: Bool = true, logger: Logger) {
        self.name = name
        let (stream, continuation) = AsyncStream.makeStream(of: Command.self)
        commands = continuation
        self.reading = Gate(open: reading)
        let inbox = inbox
        let gate = self.reading
        let configuration = WebSocketClientConfiguration(maxFrameSize: 16 << 20, closeTimeout: .seconds(5))
        let client = WebSocketClient(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await command in stream {
                        switch command {
                        case .text(let text): try await outbound.write(.text(text))
                        case .binary(let bytes): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                        case .close:
                            try await outbound.close(.normalClosure, reason: "test peer done")
                            return
                        }
                    }
                }
                await gate.wait()
                for try await message in inbound.messages(maxSize: 16 << 20) {
                    switch message {
                    case .text(let text): inbox.push(.text(text))
                    case .binary(let buffer): inbox.push(.binary(Array(buffer.readableBytesView)))
                    }
                }
                group.cancelAll()
            }
        }
        task = Task {
            do {
                let close = try await client.run()
                inbox.push(.closed(code: close.map { UInt16(webSocketErrorCode: $0.closeCode) }, reason: close?.reason))
            } catch {
                inbox.push(.failed("\(error)"))
            }
            inbox.finish()
        }
    }

    /// Sends `message` as a text frame.
    func send(_ message: RelayMessage) throws {
        commands.yield(.text(try RelayCoding.encodeText(message)))
    }

    /// Sends raw text (for malformed frames).
    func send(text: String) { commands.yield(.text(text)) }

    /// Sends a binary frame.
    func send(binary bytes: [UInt8]) { commands.yield(.binary(bytes)) }

    /// Starts reading the socket (a peer made with `reading: false`).
    func startReading() { reading.open() }

    /// Closes the connection (normal closure) and waits until it ended, at most `timeout`.
    func close(timeout: Duration = .seconds(10)) async {
        commands.yield(.close)
        commands.finish()
        reading.open()
        await waitUntilEnded(timeout: timeout)
    }

    /// Waits until the connection ended; cancels it after `timeout`.
    func waitUntilEnded(timeout: Duration = .seconds(10)) async {
        let task = task
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await task.value
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            if await group.next() == false { task.cancel() }
            group.cancelAll()
        }
        await task.value
    }

    // MARK: - Reading

    /// The next event; throws `PeerTimeout` when none comes within `timeout`.
    func next(timeout: Duration = .seconds(30)) async throws -> PeerEvent {
        guard let event = await inbox.next(timeout: timeout) else {
            throw PeerTimeout(peer: name, waitingFor: "an event")
        }
        return event
    }

    /// The next event, which must be a text frame holding a relay message.
    func nextMessage(timeout: Duration = .seconds(30)) async throws -> RelayMessage {
        let event = try await next(timeout: timeout)
        guard case .text(let text) = event else { throw UnexpectedEvent(peer: name, expected: "a text message", got: event) }
        return try RelayCoding.decode(text)
    }

    /// Messages until the first one `matching`, which is returned; others are skipped.
    func nextMessage(
        timeout: Duration = .seconds(30), where matching: (RelayMessage) -> Bool
    ) async throws -> RelayMessage {
        while true {
            let event = try await next(timeout: timeout)
            guard case .text(let text) = event else {
                if case .binary = event { continue }
                throw UnexpectedEvent(peer: name, expected: "a matching text message", got: event)
            }
            let message = try RelayCoding.decode(text)
            if matching(message) { return message }
        }
    }

    /// The `error` message next in line (its code and message).
    func nextError(timeout: Duration = .seconds(30)) async throws -> RelayErrorMessage {
        let message = try await nextMessage(timeout: timeout)
        guard case .error(let error) = message else {
            throw UnexpectedEvent(peer: name, expected: "an error", got: .text(try RelayCoding.encodeText(message)))
        }
        return error
    }

    /// Skips events until the connection ended; its close code (nil without a close frame).
    func closeCode(timeout: Duration = .seconds(30)) async throws -> UInt16? {
        while true {
            switch try await next(timeout: timeout) {
            case .closed(let code, _): return code
            case .failed(let error): throw UnexpectedEvent(peer: name, expected: "a close", got: .failed(error))
            case .text, .binary: continue
            }
        }
    }
}

struct PeerTimeout: Error, CustomStringConvertible {
    var peer: String
    var waitingFor: String
    var description: String { "\(peer): nothing came while waiting for \(waitingFor)" }
}

struct UnexpectedEvent: Error, CustomStringConvertible {
    var peer: String
    var expected: String
    var got: PeerEvent
    var description: String { "\(peer): expected \(expected), got \(got)" }
}
