import Testing

@testable import AtmoNode

/// The node's limit on downloads transferring at once.
struct DownloadSlotsTests {
    @Test func waitersGetFreedSlotsInTheOrderTheyAsked() async throws {
        let slots = DownloadSlots(limit: 2)
        try await slots.acquire()
        try await slots.acquire()
        #expect(slots.snapshot == (free: 0, waiting: 0))
        let order = Order()
        let first = Task {
            try await slots.acquire()
            await order.append(1)
        }
        try await waitUntil { slots.snapshot.waiting == 1 }
        let second = Task {
            try await slots.acquire()
            await order.append(2)
        }
        try await waitUntil { slots.snapshot.waiting == 2 }
        // Nobody got a slot while none was free.
        #expect(await order.items.isEmpty)
        slots.release()
        try await first.value
        #expect(await order.items == [1])
        #expect(slots.snapshot == (free: 0, waiting: 1))
        slots.release()
        try await second.value
        #expect(await order.items == [1, 2])
        slots.release()
        slots.release()
        #expect(slots.snapshot == (free: 2, waiting: 0))
    }

    @Test func aCancelledWaiterStopsWaitingAndTakesNoSlot() async throws {
        let slots = DownloadSlots(limit: 1)
        try await slots.acquire()
        let waiter = Task { try await slots.acquire() }
        try await waitUntil { slots.snapshot.waiting == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(slots.snapshot == (free: 0, waiting: 0))
        slots.release()
        #expect(slots.snapshot == (free: 1, waiting: 0))
        // A task cancelled before it asks does not get one either.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await slots.acquire()
        }
        await #expect(throws: CancellationError.self) { try await early.value }
        #expect(slots.snapshot == (free: 1, waiting: 0))
    }

    private actor Order {
        var items: [Int] = []
        func append(_ item: Int) { items.append(item) }
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }
}
