import AtmoProtocol
import Testing

@testable import AtmoNode

/// The scheduler's glue: waiting tasks, preemption signals, cancellation.
struct DownloadQueueSlotsTests {
    @Test func aPreemptedDownloadIsSignalledPausesAndResumes() async throws {
        let slots = DownloadQueueSlots(slots: 1)
        let lowSignal = try await slots.slot(for: "low", priority: .low)
        let critical = Task { try await slots.slot(for: "critical", priority: .critical) }
        // The low download is told to stop.
        var iterator = lowSignal.makeAsyncIterator()
        #expect(await iterator.next() != nil)
        // It pauses: the critical one gets the slot, the low one waits.
        let resumed = Task { try await slots.slot(for: "low", priority: .low, resuming: true) }
        _ = try await critical.value
        #expect(slots.counts == (running: 1, waiting: 1))
        #expect(slots.isPaused("low"))
        slots.release("critical")
        _ = try await resumed.value
        #expect(!slots.isPaused("low"))
        slots.release("low")
        #expect(slots.counts == (running: 0, waiting: 0))
    }

    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let slots = DownloadQueueSlots(slots: 1)
        _ = try await slots.slot(for: "a", priority: .high)
        let waiter = Task { try await slots.slot(for: "b", priority: .normal) }
        while slots.counts.waiting == 0 { await Task.yield() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        #expect(slots.counts == (running: 1, waiting: 0))
        slots.release("a")
        #expect(slots.counts == (running: 0, waiting: 0))
    }
}
