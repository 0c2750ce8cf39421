import AtmoProtocol
import AtmoRelay
import AtmoStore
import Foundation
import Logging
import NIOCore
import Synchronization

/// The relay's shared state: the pure `RelayState` and the send queue of every open
/// connection, behind one `Mutex`. Every event (a frame, a disconnect, the clock) goes
/// through it: the state machine decides, and its actions are carried out under the same
/// lock. That is cheap and never waits: a send only adds to a bounded queue (a full one
/// drops its peer), a close only asks that peer's writer. Storing a registration is the
/// one slow action; it runs once the lock is released, while the founder's queue is held.
final class RelayHub: Sendable {
    struct State {
        var relay: RelayState
        var queues: [ConnectionID: SendQueue] = [:]
        var lastConnection: UInt64 = 0
        var started = false
        var shuttingDown = false
        var drainWaiter: CheckedContinuation<Void, Never>?
    }

    /// A registration to store once the lock is released; `founder` hears nothing until then.
    struct PendingPersist: Sendable {
        var meshID: String
        var publicKey: Data
        var founder: ConnectionID?
    }

    let configuration: RelayServerConfiguration
    let database: StateDatabase
    let logger: Logger
    let startedAt = ContinuousClock.now
    /// The bytes waiting in every send queue together.
    let queuedBytes = QueuedBytesGauge()
    /// The bound on `queuedBytes`, and whom to drop at it.
    let budget: RelayQueueBudget
    private let state: Mutex<State>

    init(
        configuration: RelayServerConfiguration, database: StateDatabase, registeredMeshes: [String: Data],
        verifier: any RelaySignatureVerifier, logger: Logger
    ) {
        self.configuration = configuration
        self.database = database
        self.logger = logger
        budget = RelayQueueBudget(maxQueuedBytes: configuration.maxQueuedBytes)
        let relay = RelayState(registeredMeshes: registeredMeshes, configuration: configuration.relay, verifier: verifier)
        state = Mutex(State(relay: relay))
    }

    /// Unix epoch milliseconds: the state machine's clock (token times are wall-clock times).
    static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    /// Marks the hub as used by a run; false when it already was (a server runs once).
    func markStarted() -> Bool {
        state.withLock { state in
            defer { state.started = true }
            return !state.started
        }
    }

    /// The counters and gauges for `/stats`.
    var statistics: RelayStatistics {
        var statistics = state.withLock { $0.relay.statistics }
        statistics.queuedBytes = queuedBytes.value
        statistics.queuedBytesPeak = queuedBytes.peak
        return statistics
    }

    /// How long ago the hub was made.
    var uptime: Duration { ContinuousClock.now - startedAt }

    // MARK: - Events

    /// A WebSocket to `/relay/{meshID}` opened: its id and send queue, or nil while the
    /// relay shuts down.
    func open(meshID: String) -> (ConnectionID, SendQueue)? {
        let now = Self.nowMs()
        return state.withLock { state in
            guard !state.shuttingDown else { return nil }
            state.lastConnection += 1
            let conn = ConnectionID(state.lastConnection)
            let queue = SendQueue(limits: configuration.sendQueue, gauge: queuedBytes)
            state.queues[conn] = queue
            perform(state.relay.connected(conn, meshID: meshID, now: now), in: &state)
            return (conn, queue)
        }
    }

    /// A text frame arrived on `conn`. Returns once a registration it made is stored.
    func received(text: String, on conn: ConnectionID) async {
        let message = RelayFrames.incoming(text: text, maxFrameBytes: configuration.relay.maxFrameBytes)
        let frameBytes = text.utf8.count
        let now = Self.nowMs()
        let persists = state.withLock { state in
            perform(state.relay.received(message, on: conn, frameBytes: frameBytes, now: now), in: &state, origin: conn)
        }
        await store(persists)
    }

    /// A binary frame arrived on `conn`.
    func received(binary frame: ByteBuffer, on conn: ConnectionID) {
        let (event, payloadOffset) = RelayFrames.incoming(binary: frame)
        let now = Self.nowMs()
        state.withLock { state in
            let actions = state.relay.received(binary: event, on: conn, frameBytes: frame.readableBytes, now: now)
            _ = perform(actions, in: &state, origin: conn, binary: (frame, payloadOffset))
        }
    }

    /// `conn` is closed (by either side): the others are told, its writer stops.
    func closed(_ conn: ConnectionID) {
        let drained = state.withLock { state in
            perform(state.relay.disconnected(conn), in: &state)
            state.queues.removeValue(forKey: conn)?.finish()
            return state.shuttingDown && state.queues.isEmpty ? state.drainWaiter.take() : nil
        }
        drained?.resume()
    }

    /// Time passes: silent new connections and idle peers are closed.
    func tick() {
        let now = Self.nowMs()
        state.withLock { state in
            _ = perform(state.relay.tick(now: now), in: &state)
        }
    }

    /// Shutting down: new connections are refused, every open one is closed with 1001 (going
    /// away) after what is queued for it, and this returns once all are gone (a peer that
    /// does not answer is cut after `closeTimeout`) or the task is cancelled.
    func drain() async {
        let queues = state.withLock { state in
            state.shuttingDown = true
            return Array(state.queues.values)
        }
        logger.info("relay shutting down", metadata: ["connections": "\(queues.count)"])
        for queue in queues {
            queue.requestClose(code: RelayCloseCode.goingAway.rawValue, reason: "relay shutting down")
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let done = state.withLock { state in
                    if state.queues.isEmpty || Task.isCancelled { return true }
                    state.drainWaiter = continuation
                    return false
                }
                if done { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.drainWaiter.take() }?.resume()
        }
    }

    // MARK: - Actions

    /// Carries out `actions` under the lock, in order. A send whose queue is full drops that
    /// peer (`sendQueueFull`), and the resulting actions are carried out too. Registrations
    /// to store are returned; the queue of `origin` (the founder) is held until then.
    /// `binary` is the frame being handled, for `forwardBinary`.
    @discardableResult
    private func perform(
        _ actions: [RelayAction], in state: inout State, origin: ConnectionID? = nil,
        binary: (frame: ByteBuffer, payloadOffset: Int)? = nil
    ) -> [PendingPersist] {
        var work = actions
        var index = 0
        var persists: [PendingPersist] = []
        var lastEncoded: (message: RelayOutgoingMessage, frame: OutboundFrame)?
        while index < work.count {
            let action = work[index]
            index += 1
            switch action {
            case .send(let conn, let message):
                guard let queue = state.queues[conn] else { continue }
                let frame: OutboundFrame
                if let lastEncoded, Self.isSame(lastEncoded.message, message) {
                    frame = lastEncoded.frame
                } else {
                    do {
                        frame = try RelayFrames.frame(for: message)
                    } catch {
                        logger.error("cannot encode a relay message", metadata: ["error": "\(error)"])
                        continue
                    }
                    lastEncoded = (message, frame)
                }
                work += enqueue(frame, on: conn, queue, in: &state)
            case .forwardBinary(let conn, let from):
                guard let queue = state.queues[conn], let binary,
                    let frame = RelayFrames.forwarded(binary.frame, payloadOffset: binary.payloadOffset, from: from)
                else { continue }
                work += enqueue(frame, on: conn, queue, in: &state)
            case .close(let conn, let code, let reason):
                logger.debug("closing a connection", metadata: ["connection": "\(conn)", "code": "\(code)", "reason": "\(reason)"])
                state.queues[conn]?.requestClose(code: code.rawValue, reason: RelayFrames.closeReason(reason))
            case .persistMesh(let meshID, let publicKey):
                if let origin { state.queues[origin]?.hold() }
                persists.append(PendingPersist(meshID: meshID, publicKey: publicKey, founder: origin))
            }
        }
        return persists
    }

    /// Queues `frame` for `conn` within the relay's budget: when it would go over, the
    /// slowest peers `budget` names are dropped first (maybe `conn` itself, then the frame is
    /// not queued). A full queue drops its own peer. Returns what the drops lead to.
    private func enqueue(_ frame: OutboundFrame, on conn: ConnectionID, _ queue: SendQueue, in state: inout State) -> [RelayAction] {
        var actions: [RelayAction] = []
        let size = frame.data.readableBytes
        if !budget.fits(size, totalQueued: queuedBytes.value) {
            let now = ContinuousClock.now
            let queues = state.queues.map { conn, queue in
                let backlog = queue.backlog(now: now)
                return RelayQueueBudget.Queue(conn: conn, queuedBytes: backlog.bytes, stalledMs: backlog.stalled.wholeMilliseconds)
            }
            let victims = budget.victims(incoming: size, for: conn, queues: queues, totalQueued: queuedBytes.value)
            for victim in victims {
                guard let victimQueue = state.queues[victim] else { continue }
                logger.notice(
                    "dropping one of the slowest peers: the relay's send queues are at their budget",
                    metadata: [
                        "connection": "\(victim)", "node_id": "\(state.relay.nodeID(of: victim) ?? "-")",
                        "max_queued_bytes": "\(budget.maxQueuedBytes)",
                    ])
                let dropped = state.relay.queueBudgetExceeded(victim)
                Self.closeAtOnce(victim, victimQueue, as: dropped)
                actions += dropped
            }
            if victims.contains(conn) { return actions }
        }
        if queue.enqueue(frame) == .full { actions += dropSlowPeer(conn, queue, in: &state) }
        return actions
    }

    private func dropSlowPeer(_ conn: ConnectionID, _ queue: SendQueue, in state: inout State) -> [RelayAction] {
        logger.notice(
            "dropping a peer that does not keep up", metadata: ["connection": "\(conn)", "node_id": "\(state.relay.nodeID(of: conn) ?? "-")"])
        let dropped = state.relay.sendQueueFull(conn)
        Self.closeAtOnce(conn, queue, as: dropped)
        return dropped
    }

    /// Asks a dropped peer's queue to close right away, its backlog discarded, with the close
    /// `actions` name for it: the queue refuses frames from then on, so the sends still
    /// waiting in the same `perform` pass cannot queue onto it again (its `close` action,
    /// carried out later, changes nothing more).
    private static func closeAtOnce(_ conn: ConnectionID, _ queue: SendQueue, as actions: [RelayAction]) {
        var code = RelayCloseCode.tryAgainLater.rawValue
        var reason = ""
        for case .close(let closed, let closeCode, let closeReason) in actions where closed == conn {
            code = closeCode.rawValue
            reason = closeReason
            break
        }
        queue.requestClose(code: code, reason: RelayFrames.closeReason(reason), discardPending: true)
    }

    /// Stores registrations durably (on the blocking-I/O queue), then lets their founders
    /// hear that they succeeded. A registration that cannot be stored is forgotten and its
    /// mesh's connections are closed (`registrationNotPersisted`).
    private func store(_ persists: [PendingPersist]) async {
        for persist in persists {
            let registration = RelayMeshRegistration(
                meshID: persist.meshID, publicKey: persist.publicKey, registeredAt: Date().timeIntervalSince1970)
            do {
                try await BlockingIO.run { [database] in try database.saveRelayMesh(registration) }
                logger.info("mesh registered", metadata: ["mesh_id": "\(persist.meshID)"])
                state.withLock { state in
                    if let founder = persist.founder { state.queues[founder]?.release() }
                }
            } catch {
                logger.error("cannot store a mesh registration", metadata: ["mesh_id": "\(persist.meshID)", "error": "\(error)"])
                state.withLock { state in
                    if let founder = persist.founder { state.queues[founder]?.release(discardPending: true) }
                    perform(state.relay.registrationNotPersisted(meshID: persist.meshID), in: &state)
                }
            }
        }
    }

    /// Whether two messages encode alike. A broadcast's deliveries share one payload, so
    /// they are compared by its storage rather than byte by byte.
    static func isSame(_ lhs: RelayOutgoingMessage, _ rhs: RelayOutgoingMessage) -> Bool {
        guard case .message(let fromA, let payloadA) = lhs, case .message(let fromB, let payloadB) = rhs else {
            return lhs == rhs
        }
        guard fromA == fromB, payloadA.count == payloadB.count else { return false }
        if payloadA.count < 256 { return payloadA == payloadB }
        return payloadA.withUnsafeBytes { a in payloadB.withUnsafeBytes { b in a.baseAddress == b.baseAddress } }
    }
}

extension Duration {
    /// The duration in whole milliseconds.
    var wholeMilliseconds: Int64 {
        let parts = components
        return parts.seconds * 1_000 + parts.attoseconds / 1_000_000_000_000_000
    }
}
