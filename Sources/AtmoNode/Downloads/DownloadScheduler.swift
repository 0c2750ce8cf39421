import AtmoProtocol

/// Which of the node's downloads transfer, by priority (pure: events in, actions out; the
/// glue is `DownloadQueueSlots`). At most `slots` downloads run at once, and at most
/// `perLevel` of one priority (the seed's rule: one active transfer per level). A waiting
/// download of a higher priority takes a free slot before a lower one; one of the same
/// priority waits its turn in the order it arrived. When a `critical` or `high` download
/// can run but for the slots, held by lower ones, the lowest running one (the latest
/// started of that level) is preempted: told to stop, it gives its slot up with
/// `stopped(_:requeue: true)` and waits again, paused, ahead of later ones of its level.
package struct DownloadScheduler<ID: Hashable & Sendable>: Sendable {
    package enum Action: Equatable, Sendable {
        /// The download may transfer now (it holds a slot until `stopped`).
        case start(ID)
        /// The download must stop, keeping its partial, and give its slot back with
        /// `stopped(id, requeue: true)`.
        case preempt(ID)
    }

    private struct Entry: Sendable {
        let id: ID
        let priority: DownloadPriority
        /// Arrival order: earlier first among equals (a paused download keeps its own).
        let order: UInt64
    }

    package let slots: Int
    package let perLevel: Int
    private var waiting: [Entry] = []
    /// Running downloads, in the order they started.
    private var running: [Entry] = []
    /// Running downloads told to stop, whose slots are promised to waiting ones.
    private var preempting: Set<ID> = []
    private var paused: Set<ID> = []
    private var nextOrder: UInt64 = 0

    package init(slots: Int, perLevel: Int = 1) {
        self.slots = max(1, slots)
        self.perLevel = max(1, perLevel)
    }

    /// A download asks for a slot.
    package mutating func enqueue(_ id: ID, priority: DownloadPriority) -> [Action] {
        guard !isKnown(id) else { return [] }
        nextOrder += 1
        waiting.append(Entry(id: id, priority: priority, order: nextOrder))
        return schedule()
    }

    /// A running download stopped: finished, failed or cancelled (`requeue` false), or
    /// paused after a `preempt` (`requeue` true: it waits for a slot again).
    package mutating func stopped(_ id: ID, requeue: Bool) -> [Action] {
        guard let index = running.firstIndex(where: { $0.id == id }) else { return [] }
        let entry = running.remove(at: index)
        preempting.remove(id)
        if requeue {
            waiting.append(entry)
            paused.insert(id)
        }
        return schedule()
    }

    /// A waiting download went away (cancelled before it ran, or the node stops).
    package mutating func withdraw(_ id: ID) -> [Action] {
        guard let index = waiting.firstIndex(where: { $0.id == id }) else { return [] }
        waiting.remove(at: index)
        paused.remove(id)
        return schedule()
    }

    /// Whether `id` was preempted and waits to resume.
    package func isPaused(_ id: ID) -> Bool { paused.contains(id) }

    /// Whether a download of `priority` asking now would start at once.
    package func canStart(_ priority: DownloadPriority) -> Bool {
        running.count < slots && runningCount(at: priority) < perLevel && !waiting.contains { $0.priority >= priority }
    }

    /// Whether `id` holds a slot.
    package func isRunning(_ id: ID) -> Bool { running.contains { $0.id == id } }

    /// Downloads holding a slot, and downloads waiting for one.
    package var counts: (running: Int, waiting: Int) { (running.count, waiting.count) }

    private func isKnown(_ id: ID) -> Bool {
        running.contains { $0.id == id } || waiting.contains { $0.id == id }
    }

    /// Waiting downloads best first: higher priority, then earlier arrival.
    private var waitingInTurn: [Entry] {
        waiting.sorted { ($0.priority.rank, -Int64($0.order)) > ($1.priority.rank, -Int64($1.order)) }
    }

    private func runningCount(at priority: DownloadPriority) -> Int {
        running.count { $0.priority == priority }
    }

    private mutating func schedule() -> [Action] {
        var actions: [Action] = []
        // Free slots go to the best waiting downloads their level lets run.
        for entry in waitingInTurn where running.count < slots && runningCount(at: entry.priority) < perLevel {
            waiting.removeAll { $0.id == entry.id }
            paused.remove(entry.id)
            running.append(entry)
            actions.append(.start(entry.id))
        }
        // Urgent downloads that only lack a slot: each gets one promised by a preemption,
        // the ones already under way first.
        var promised = preempting.count
        var levelsTaken: [DownloadPriority: Int] = [:]
        for entry in waitingInTurn where entry.priority.preempts {
            let atLevel = runningCount(at: entry.priority) + levelsTaken[entry.priority, default: 0]
            guard atLevel < perLevel else { continue }
            levelsTaken[entry.priority, default: 0] += 1
            if promised > 0 {
                promised -= 1
                continue
            }
            let victims = running.enumerated().filter { !preempting.contains($0.element.id) && $0.element.priority < entry.priority }
            // The lowest level; among equals the latest started.
            guard let victim = victims.min(by: { ($0.element.priority.rank, -$0.offset) < ($1.element.priority.rank, -$1.offset) })
            else { break }
            preempting.insert(victim.element.id)
            actions.append(.preempt(victim.element.id))
        }
        return actions
    }
}
