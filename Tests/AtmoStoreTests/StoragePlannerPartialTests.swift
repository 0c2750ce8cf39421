import AtmoStore
import Testing

/// Stale partials in the storage plan, without I/O: they are evicted before any model,
/// oldest first, only as many as the pull needs, only under a limit; `plan` (models only)
/// is unchanged by them.
struct StoragePlannerPartialTests {
    static let mib: Int64 = 1 << 20

    static func partial(_ digit: Character, mib size: Int64, writtenAt: Double) -> StalePartial {
        StalePartial(sha256: String(repeating: digit, count: 64), sizeBytes: size * mib, lastWrittenAt: writtenAt)
    }

    /// Models and stale partials (their bytes among the partials) under a limit of 100 MiB.
    static func input(
        models: [StoredModel], stale: [StalePartial], otherPartialMiB: Int64 = 0, limitMiB: Int64? = 100, neededMiB: Int64
    ) -> StoragePlanner.Input {
        StoragePlanner.Input(
            models: models, partialBytes: stale.reduce(otherPartialMiB * mib) { $0 + $1.sizeBytes }, limitBytes: limitMiB.map { $0 * mib },
            freeBytes: 10_000 * mib, neededBytes: neededMiB * mib, stalePartials: stale)
    }

    static func evicted(_ evictions: StoragePlanner.Evictions) -> (partials: [Character], models: [String])? {
        guard case .fits(let partials, let models) = evictions else { return nil }
        return (partials.map { $0.sha256.first! }, models.map(\.modelID))
    }

    static let models = [
        StoredModel(modelID: "old", sha256: String(repeating: "1", count: 64), sizeBytes: 20 * mib, lastUsedAt: 1, meshCopies: 1),
        StoredModel(modelID: "new", sha256: String(repeating: "2", count: 64), sizeBytes: 20 * mib, lastUsedAt: 2, meshCopies: 1),
    ]
    // 40 MiB of models and 40 MiB of stale partials: 20 MiB free under the limit.
    static let stale = [partial("b", mib: 10, writtenAt: 200), partial("a", mib: 30, writtenAt: 100)]

    @Test("stale partials go before any model, the least recently written first, as many as needed")
    func partialsFirstOldestFirst() throws {
        let first = try #require(Self.evicted(StoragePlanner.evictions(Self.input(models: Self.models, stale: Self.stale, neededMiB: 45))))
        #expect(first.partials == ["a"] && first.models.isEmpty)
        let both = try #require(Self.evicted(StoragePlanner.evictions(Self.input(models: Self.models, stale: Self.stale, neededMiB: 55))))
        #expect(both.partials == ["a", "b"] && both.models.isEmpty)
        let more = try #require(Self.evicted(StoragePlanner.evictions(Self.input(models: Self.models, stale: Self.stale, neededMiB: 65))))
        #expect(more.partials == ["a", "b"] && more.models == ["old"])
        let fits = try #require(Self.evicted(StoragePlanner.evictions(Self.input(models: Self.models, stale: Self.stale, neededMiB: 20))))
        #expect(fits.partials.isEmpty && fits.models.isEmpty)
        let order = StoragePlanner.partialEvictionOrder(Self.input(models: [], stale: Self.stale, neededMiB: 0))
        #expect(order.map(\.sizeBytes) == [30 * Self.mib, 10 * Self.mib])
    }

    @Test("the refusal counts stale partials as evictable; without a limit nothing is evicted")
    func shortfallAndNoLimit() {
        let tooBig = Self.input(models: Self.models, stale: Self.stale, neededMiB: 101)
        guard case .full(let shortfall) = StoragePlanner.evictions(tooBig) else {
            Issue.record("a pull of 101 MiB under a limit of 100 MiB fits")
            return
        }
        #expect(shortfall.evictableBytes == 80 * Self.mib && shortfall.freeBytes == 20 * Self.mib)
        let unlimited = Self.input(models: Self.models, stale: Self.stale, limitMiB: nil, neededMiB: 1)
        #expect(StoragePlanner.partialEvictionOrder(unlimited).isEmpty)
        #expect(unlimited.status.evictableBytes == 0)
        #expect(Self.input(models: Self.models, stale: Self.stale, neededMiB: 0).status.evictableBytes == 80 * Self.mib)
    }

    @Test("plan, models only, is what it was without stale partials")
    func planIgnoresStalePartials() {
        let input = Self.input(models: Self.models, stale: Self.stale, neededMiB: 45)
        #expect(StoragePlanner.plan(input) == .fits(evict: [Self.models[0], Self.models[1]]))
        var none = input
        none.stalePartials = []
        #expect(StoragePlanner.evictions(none) == .fits(partials: [], models: [Self.models[0], Self.models[1]]))
    }
}
