import AtmoProtocol
import Foundation
import Synchronization

/// The node's bandwidth shaper: every path that moves model bytes asks it before a write
/// (serving over HTTP, HTTP pulls, chunked WebSocket transfers both ways, relayed or
/// direct), so one set of limits holds for all of them. The rules are `ShapingState`'s
/// (AtmoProtocol, pure): node-wide and per-peer token buckets in bytes, the size-class
/// policy, and the delay controllers of background transfers.
///
/// ```swift
/// try await shaper.admit(chunk.count, direction: .down, peer: nodeID, modelSize: entry.sizeBytes, background: false)
/// shaper.recordRoundTrip(.milliseconds(42), peer: nodeID, direction: .down)   // background transfers adapt
/// ```
///
/// Unlimited and not background, a call returns at once without taking the lock. Limits
/// change at runtime (`setLimits`) and apply to the next write of every transfer.
public final class BandwidthShaper: Sendable {
    private let state: Mutex<ShapingState>
    /// Whether some limit applies (else non-background writes skip the lock).
    private let limited: Atomic<Bool>
    private let origin = ContinuousClock.now

    /// A shaper holding `limits`. `ATMO_DELAY_CONTROLLER=reference` in the environment gives
    /// background transfers the reference controller (`DelayController.Configuration.reference`,
    /// for bench/shaping.sh to compare against).
    public init(limits: BandwidthLimits = BandwidthLimits()) {
        var initial = ShapingState(limits: limits, now: 0)
        if ProcessInfo.processInfo.environment["ATMO_DELAY_CONTROLLER"] == "reference" {
            initial.controllerConfiguration = .reference
        }
        state = Mutex(initial)
        limited = Atomic(!limits.isUnlimited)
    }

    /// The limits in force.
    public var limits: BandwidthLimits { state.withLock { $0.limits } }

    /// Whether no limit applies now (background transfers still adapt to delay).
    public var isUnlimited: Bool { !limited.load(ordering: .acquiring) }

    /// Replaces the limits; writes already waiting keep their turn, the next ones follow
    /// the new limits.
    public func setLimits(_ limits: BandwidthLimits) {
        let now = nowNs
        state.withLock { $0.setLimits(limits, now: now) }
        limited.store(!limits.isUnlimited, ordering: .releasing)
    }

    /// Reserves `bytes` for a write to (`.up`) or from (`.down`) `peer` (a node id, or for
    /// HTTP the remote address) of a model of `modelSize` bytes, and returns how long to
    /// wait before the write: `.zero` at once. For code that cannot sleep (an event loop):
    /// schedule the write after the wait instead.
    public func reserve(
        _ bytes: Int, direction: TransferDirection, peer: String, modelSize: Int64?, background: Bool
    ) -> Duration {
        guard background || limited.load(ordering: .acquiring) else { return .zero }
        let now = nowNs
        let wait = state.withLock {
            $0.reserve(Int64(bytes), direction: direction, peer: peer, modelSize: modelSize, background: background, now: now)
        }
        return wait == 0 ? .zero : .nanoseconds(min(wait, Self.longestWaitNs))
    }

    /// Waits as the buckets require before a write of `bytes` (see `reserve`); returns at
    /// once when nothing limits it. Throws `CancellationError` if the task is cancelled
    /// while it waits.
    public func admit(_ bytes: Int, direction: TransferDirection, peer: String, modelSize: Int64?, background: Bool) async throws {
        let wait = reserve(bytes, direction: direction, peer: peer, modelSize: modelSize, background: background)
        if wait > .zero { try await Task.sleep(for: wait) }
    }

    /// For a range request of `bytes` from `peer` (a pull's piece over HTTP): waits as
    /// `admit` does, then returns the request's round-trip timer, started now; call its
    /// `firstByte()` when the answer's first byte (or head) arrives.
    ///
    /// ```swift
    /// let timer = try await configuration.shaper?.admitRange(length, peer: nodeID ?? host, modelSize: entry.sizeBytes, background: false)
    /// let response = try await http.execute(request, timeout: ...)
    /// timer?.firstByte()
    /// ```
    public func admitRange(_ bytes: Int64, peer: String, modelSize: Int64?, background: Bool) async throws -> RoundTripTimer {
        try await admit(Int(clamping: bytes), direction: .down, peer: peer, modelSize: modelSize, background: background)
        return RoundTripTimer(shaper: self, peer: peer, direction: .down, started: .now)
    }

    /// A round trip to `peer` measured by a transfer in `direction` (a chunk's ack, a piece's
    /// first byte): the delay controller of background transfers with that peer uses it.
    public func recordRoundTrip(_ rtt: Duration, peer: String, direction: TransferDirection) {
        let now = nowNs
        let ms = Double(rtt.components.seconds) * 1000 + Double(rtt.components.attoseconds) / 1e15
        state.withLock { $0.recordRoundTrip(ms, peer: peer, direction: direction, now: now) }
    }

    /// The write size that keeps each wait near `target` (for loops that choose their chunk
    /// size, like the HTTP body pump): `preferred` when nothing limits the write, else the
    /// slowest rate's worth of `target`, at least `minimum`.
    public func writeSize(
        preferred: Int, minimum: Int = 16 * 1024, target: Duration = .milliseconds(250), direction: TransferDirection, peer: String,
        modelSize: Int64?, background: Bool
    ) -> Int {
        guard background || limited.load(ordering: .acquiring) else { return preferred }
        let rate = state.withLock { $0.slowestRate(direction: direction, peer: peer, modelSize: modelSize, background: background) }
        guard let rate else { return preferred }
        let seconds = Double(target.components.seconds) + Double(target.components.attoseconds) / 1e18
        return max(minimum, min(preferred, Int(rate * seconds)))
    }

    /// The delay controller of `peer` in `direction`, if a round trip or a background write made one.
    package func controller(peer: String, direction: TransferDirection) -> DelayController? {
        state.withLock { $0.controller(peer: peer, direction: direction) }
    }

    /// What the shaper holds now, for `GET /v1/limits`.
    public var status: BandwidthStatus {
        state.withLock { state in
            BandwidthStatus(
                limits: state.limits,
                adaptive: state.adaptiveRates.map {
                    BandwidthStatus.Adaptive(peer: $0.key.peer, direction: $0.key.direction, rate: ByteRate(bytesPerSecond: $0.value))
                }
                .sorted { ($0.peer, $0.direction.rawValue) < ($1.peer, $1.direction.rawValue) })
        }
    }

    /// A wait is never longer than this (a rate near zero must not park a task for ever).
    static let longestWaitNs: Int64 = 60_000_000_000

    private var nowNs: Int64 {
        let elapsed = origin.duration(to: .now).components
        return elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000
    }
}

/// One request's round trip, from when it was sent (`BandwidthShaper.admitRange`).
public struct RoundTripTimer: Sendable {
    let shaper: BandwidthShaper
    let peer: String
    let direction: TransferDirection
    let started: ContinuousClock.Instant

    /// The answer's first byte arrived: its time since the request is a round-trip sample.
    public func firstByte() {
        shaper.recordRoundTrip(.now - started, peer: peer, direction: direction)
    }
}

extension PullConfiguration {
    /// This configuration with `shaper` as its bandwidth shaper.
    public func shaped(by shaper: BandwidthShaper?) -> PullConfiguration {
        var configuration = self
        configuration.shaper = shaper
        return configuration
    }
}
