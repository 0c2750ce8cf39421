import Testing

@testable import AtmoNode

/// `RequesterMemory`: the node that asked for a model from an address, bounded in count and time.
struct RequesterMemoryTests {
    @Test func remembersTheLastRequesterPerAddressAndModel() {
        var memory = RequesterMemory(capacity: 8, lifetimeMs: 1000)
        memory.note(nodeID: "b", address: "127.0.0.1", modelID: "m", nowMs: 0)
        memory.note(nodeID: "c", address: "127.0.0.1", modelID: "n", nowMs: 1)
        #expect(memory.nodeID(address: "127.0.0.1", modelID: "m", nowMs: 2) == "b")
        #expect(memory.nodeID(address: "127.0.0.1", modelID: "n", nowMs: 2) == "c")
        #expect(memory.nodeID(address: "10.0.0.2", modelID: "m", nowMs: 2) == nil)
        memory.note(nodeID: "d", address: "127.0.0.1", modelID: "m", nowMs: 3)
        #expect(memory.nodeID(address: "127.0.0.1", modelID: "m", nowMs: 4) == "d")
        // Forgotten after its lifetime; empty ids and addresses are not kept.
        #expect(memory.nodeID(address: "127.0.0.1", modelID: "m", nowMs: 1003) == nil)
        memory.note(nodeID: "", address: "127.0.0.1", modelID: "x", nowMs: 5)
        memory.note(nodeID: "e", address: "", modelID: "x", nowMs: 5)
        #expect(memory.entries.count == 2)
    }

    @Test func aFloodKeepsAtMostCapacityEntriesAndDropsTheOldest() {
        var memory = RequesterMemory(capacity: 16, lifetimeMs: 1_000_000)
        for index in 0..<10_000 {
            memory.note(nodeID: "n\(index)", address: "10.0.\(index / 256).\(index % 256)", modelID: "m", nowMs: Int64(index))
        }
        #expect(memory.entries.count == 16)
        #expect(memory.nodeID(address: "10.0.39.15", modelID: "m", nowMs: 10_000) == "n9999")
        #expect(memory.nodeID(address: "10.0.0.0", modelID: "m", nowMs: 10_000) == nil)
    }
}
