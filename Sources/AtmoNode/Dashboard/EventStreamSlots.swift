import Synchronization

/// The open event streams of one kind (`/v1/events`, or `/v1/downloads/events`: one
/// `EventStreamBudget` each, behind a `Mutex`): a slot is given back when its holder is
/// released, and a slot superseded by a newer stream of its address is told so through
/// `superseded`.
final class EventStreamSlots: Sendable {
    private struct State {
        var budget: EventStreamBudget
        /// How to tell each open slot it was superseded.
        var notices: [EventStreamBudget.StreamID: AsyncStream<Void>.Continuation] = [:]
    }

    private let state: Mutex<State>
    /// The bounds (each at least 1): streams per client address, and in all.
    let perAddress: Int
    let total: Int

    /// Slots for `perAddress` streams per client address and `total` in all.
    init(perAddress: Int, total: Int) {
        let budget = EventStreamBudget(perAddress: perAddress, total: total)
        self.perAddress = budget.perAddress
        self.total = budget.total
        state = Mutex(State(budget: budget))
    }

    /// A slot for a stream from `address`, or nil when the node holds its total already.
    /// The address's oldest slot is superseded when it holds its bound.
    func acquire(address: String) -> Slot? {
        let (notice, noticeSink) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let decision = state.withLock { state -> (EventStreamBudget.StreamID, AsyncStream<Void>.Continuation?)? in
            guard case .admitted(let id, let superseding) = state.budget.admit(address: address) else { return nil }
            state.notices[id] = noticeSink
            return (id, superseding.flatMap { state.notices.removeValue(forKey: $0) })
        }
        guard let (id, superseded) = decision else { return nil }
        superseded?.yield()
        superseded?.finish()
        return Slot(self, id: id, address: address, superseded: notice)
    }

    /// Open streams in all.
    var count: Int { state.withLock { $0.budget.count } }

    fileprivate func release(_ id: EventStreamBudget.StreamID, address: String) {
        let notice = state.withLock { state -> AsyncStream<Void>.Continuation? in
            state.budget.release(id, address: address)
            return state.notices.removeValue(forKey: id)
        }
        notice?.finish()
    }

    /// One open stream.
    final class Slot: Sendable {
        private let slots: EventStreamSlots
        let id: EventStreamBudget.StreamID
        let address: String
        /// Yields once if a newer stream of `address` took this slot's place (the slot no
        /// longer counts); the stream then says so and ends.
        let superseded: AsyncStream<Void>

        fileprivate init(_ slots: EventStreamSlots, id: EventStreamBudget.StreamID, address: String, superseded: AsyncStream<Void>) {
            self.slots = slots
            self.id = id
            self.address = address
            self.superseded = superseded
        }

        deinit { slots.release(id, address: address) }
    }
}
