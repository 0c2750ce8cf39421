import Testing

@testable import AtmoNode

/// `EventStreamBudget`: streams per client address and in all, without sockets.
struct EventStreamBudgetTests {
    @Test func anAddressAtItsBoundSupersedesItsOldest() {
        var budget = EventStreamBudget(perAddress: 2, total: 10)
        #expect(budget.admit(address: "a") == .admitted(1, superseding: nil))
        #expect(budget.admit(address: "a") == .admitted(2, superseding: nil))
        #expect(budget.admit(address: "a") == .admitted(3, superseding: 1))
        #expect(budget.admit(address: "a") == .admitted(4, superseding: 2))
        #expect(budget.streams(of: "a") == [3, 4])
        #expect(budget.count == 2)
        // Another address has its own bound.
        #expect(budget.admit(address: "b") == .admitted(5, superseding: nil))
        #expect(budget.count == 3)
    }

    @Test func aSupersededStreamReleasedLaterCountsOnce() {
        var budget = EventStreamBudget(perAddress: 1, total: 10)
        _ = budget.admit(address: "a")
        _ = budget.admit(address: "a")
        budget.release(1, address: "a")  // the superseded one's body ends afterwards
        #expect(budget.count == 1)
        #expect(budget.streams(of: "a") == [2])
        budget.release(2, address: "a")
        budget.release(2, address: "a")
        #expect(budget.count == 0)
        #expect(budget.streams(of: "a").isEmpty)
    }

    @Test func theTotalRefusesANewAddressButNotOneAtItsBound() {
        var budget = EventStreamBudget(perAddress: 2, total: 4)
        for address in ["a", "a", "b", "b"] { _ = budget.admit(address: address) }
        #expect(budget.admit(address: "c") == .refused)
        #expect(budget.count == 4)
        // An address at its bound replaces its own oldest: the total holds.
        #expect(budget.admit(address: "a") == .admitted(5, superseding: 1))
        #expect(budget.count == 4)
        budget.release(3, address: "b")
        #expect(budget.admit(address: "c") == .admitted(6, superseding: nil))
    }
}
