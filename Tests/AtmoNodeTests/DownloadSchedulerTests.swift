import AtmoProtocol
import Testing

@testable import AtmoNode

/// Which downloads transfer, by priority (issue 11): the pure `DownloadScheduler`.
struct DownloadSchedulerTests {
    typealias Scheduler = DownloadScheduler<String>

    @Test func oneTransferPerLevelIsTheDefault() {
        var scheduler = Scheduler(slots: 4)
        #expect(scheduler.enqueue("h1", priority: .high) == [.start("h1")])
        // A second download of the same level waits, whatever the free slots.
        #expect(scheduler.enqueue("h2", priority: .high) == [])
        #expect(scheduler.enqueue("n1", priority: .normal) == [.start("n1")])
        #expect(scheduler.counts == (running: 2, waiting: 1))
        #expect(scheduler.stopped("h1", requeue: false) == [.start("h2")])
    }

    @Test func aHigherPriorityTakesAFreeSlotFirst() {
        var scheduler = Scheduler(slots: 1, perLevel: 4)
        #expect(scheduler.enqueue("n", priority: .normal) == [.start("n")])
        #expect(scheduler.enqueue("l", priority: .low) == [])
        #expect(scheduler.enqueue("n2", priority: .normal) == [])
        // A normal download does not preempt; it waits ahead of the earlier low one.
        #expect(scheduler.stopped("n", requeue: false) == [.start("n2")])
        #expect(scheduler.stopped("n2", requeue: false) == [.start("l")])
    }

    @Test func anUrgentDownloadPreemptsTheLowestRunningOne() {
        var scheduler = Scheduler(slots: 2)
        #expect(scheduler.enqueue("low", priority: .low) == [.start("low")])
        #expect(scheduler.enqueue("normal", priority: .normal) == [.start("normal")])
        #expect(scheduler.enqueue("critical", priority: .critical) == [.preempt("low")])
        // Asked again before the preempted one stopped: no second preemption.
        #expect(scheduler.enqueue("other", priority: .low) == [])
        #expect(!scheduler.isPaused("low"))
        // It stops: its slot goes to the critical one, and it waits, paused.
        #expect(scheduler.stopped("low", requeue: true) == [.start("critical")])
        #expect(scheduler.isPaused("low"))
        #expect(scheduler.counts == (running: 2, waiting: 2))
        // When a slot frees it resumes, ahead of the low one that arrived after it.
        #expect(scheduler.stopped("critical", requeue: false) == [.start("low")])
        #expect(!scheduler.isPaused("low"))
    }

    @Test func highPreemptsButNormalAndLowDoNot() {
        var scheduler = Scheduler(slots: 1, perLevel: 2)
        #expect(scheduler.enqueue("low", priority: .low) == [.start("low")])
        #expect(scheduler.enqueue("normal", priority: .normal) == [])
        #expect(scheduler.enqueue("high", priority: .high) == [.preempt("low")])
        #expect(scheduler.stopped("low", requeue: true) == [.start("high")])
        // A second high one finds only a high one running: it waits.
        #expect(scheduler.enqueue("high2", priority: .high) == [])
        #expect(scheduler.stopped("high", requeue: false) == [.start("high2")])
        #expect(scheduler.stopped("high2", requeue: false) == [.start("normal")])
    }

    @Test func anUrgentDownloadBlockedByItsOwnLevelPreemptsNothing() {
        var scheduler = Scheduler(slots: 2)
        #expect(scheduler.enqueue("c1", priority: .critical) == [.start("c1")])
        #expect(scheduler.enqueue("low", priority: .low) == [.start("low")])
        // One critical transfer at a time: the second waits and the low one keeps going.
        #expect(scheduler.enqueue("c2", priority: .critical) == [])
        #expect(scheduler.stopped("c1", requeue: false) == [.start("c2")])
    }

    @Test func twoUrgentDownloadsPreemptTwoAndTheLatestStartedFirst() {
        var scheduler = Scheduler(slots: 2)
        #expect(scheduler.enqueue("l1", priority: .low) == [.start("l1")])
        #expect(scheduler.enqueue("n1", priority: .normal) == [.start("n1")])
        #expect(scheduler.enqueue("h", priority: .high) == [.preempt("l1")])
        #expect(scheduler.enqueue("c", priority: .critical) == [.preempt("n1")])
        // The first slot freed goes to the most urgent.
        #expect(scheduler.stopped("n1", requeue: true) == [.start("c")])
        #expect(scheduler.stopped("l1", requeue: true) == [.start("h")])
        #expect(scheduler.stopped("c", requeue: false) == [.start("n1")])
    }

    @Test func withdrawingAWaitingDownloadFreesNothingAndForgetsIt() {
        var scheduler = Scheduler(slots: 1)
        #expect(scheduler.enqueue("n", priority: .normal) == [.start("n")])
        #expect(scheduler.enqueue("l", priority: .low) == [])
        #expect(scheduler.withdraw("l") == [])
        #expect(scheduler.stopped("n", requeue: false) == [])
        #expect(scheduler.counts == (running: 0, waiting: 0))
        // Unknown ids change nothing; an id is not queued twice.
        #expect(scheduler.stopped("x", requeue: true) == [])
        #expect(scheduler.enqueue("a", priority: .low) == [.start("a")])
        #expect(scheduler.enqueue("a", priority: .critical) == [])
    }

    @Test func canStartSaysWhetherADownloadWouldWait() {
        var scheduler = Scheduler(slots: 2)
        #expect(scheduler.canStart(.low))
        _ = scheduler.enqueue("l", priority: .low)
        #expect(!scheduler.canStart(.low))
        #expect(scheduler.canStart(.high))
    }

    @Test func priorityWireNamesAndOrder() {
        #expect(DownloadPriority.allCases.map(\.rawValue) == ["critical", "high", "normal", "low"])
        #expect(DownloadPriority.critical > .high && DownloadPriority.high > .normal && DownloadPriority.normal > .low)
        #expect(DownloadPriority.allCases.filter(\.isBackground) == [.normal, .low])
        #expect(DownloadPriority.default == .high)
    }
}
