import AtmoStore
import Testing

/// The storage limit's rules, without I/O: least recently used first, never a pinned model,
/// never the mesh's last copy unless forced, partials counted, and the numbers of a refusal.
struct StoragePlannerTests {
    static let mib: Int64 = 1 << 20

    static func model(_ id: String, mib size: Int64, usedAt: Double, pinned: Bool = false, copies: Int = 1) -> StoredModel {
        StoredModel(modelID: id, sha256: String(repeating: "0", count: 63) + "\(id.count % 10)", sizeBytes: size * mib,
                    lastUsedAt: usedAt, pinned: pinned, meshCopies: copies)
    }

    static func input(
        _ models: [StoredModel], partialMiB: Int64 = 0, limitMiB: Int64? = 100, freeMiB: Int64 = 10_000, neededMiB: Int64,
        force: Bool = false
    ) -> StoragePlanner.Input {
        StoragePlanner.Input(
            models: models, partialBytes: partialMiB * mib, limitBytes: limitMiB.map { $0 * mib }, freeBytes: freeMiB * mib,
            neededBytes: neededMiB * mib, force: force)
    }

    static func evicted(_ decision: StoragePlanner.Decision) -> [String]? {
        guard case .fits(let evict) = decision else { return nil }
        return evict.map(\.modelID)
    }

    @Test("a pull that fits under the limit evicts nothing")
    func fitsWithoutEviction() {
        let models = [Self.model("a", mib: 30, usedAt: 1), Self.model("b", mib: 30, usedAt: 2)]
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, neededMiB: 40))) == [])
    }

    @Test("the least recently used models go first, and only as many as the pull needs")
    func leastRecentlyUsedFirst() {
        let models = [
            Self.model("new", mib: 30, usedAt: 300), Self.model("old", mib: 30, usedAt: 100), Self.model("mid", mib: 30, usedAt: 200),
        ]
        // 90 used of 100: a 25 MiB pull needs 15 more, the oldest (30) is enough.
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, neededMiB: 25))) == ["old"])
        // 45 MiB needs 35 more: the oldest two.
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, neededMiB: 45))) == ["old", "mid"])
    }

    @Test("a pinned model is never evicted; the next least recently used goes instead")
    func pinnedStays() {
        let models = [Self.model("old", mib: 40, usedAt: 1, pinned: true), Self.model("mid", mib: 40, usedAt: 2)]
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, neededMiB: 30))) == ["mid"])
        #expect(StoragePlanner.evictionOrder(Self.input(models, neededMiB: 0)).map(\.modelID) == ["mid"])
    }

    @Test("the last copy the mesh knows of stays, unless forced")
    func lastCopyStaysUnlessForced() {
        let models = [Self.model("only-here", mib: 40, usedAt: 1, copies: 0), Self.model("shared", mib: 40, usedAt: 2, copies: 2)]
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, neededMiB: 30))) == ["shared"])
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, neededMiB: 30, force: true))) == ["only-here"])
        // Needing both: refused without force, both evicted with it.
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, neededMiB: 90))) == nil)
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, neededMiB: 90, force: true))) == ["only-here", "shared"])
    }

    @Test("partial downloads count as used storage")
    func partialsCount() {
        let models = [Self.model("a", mib: 30, usedAt: 1)]
        // 30 + 50 of partials = 80 of 100: a 25 MiB pull must evict a.
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, partialMiB: 50, neededMiB: 25))) == ["a"])
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, partialMiB: 0, neededMiB: 25))) == [])
        // Partials are not evictable: 30 + 60 of partials leaves 10, a 45 MiB pull can free only 30.
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, partialMiB: 60, neededMiB: 45))) == nil)
    }

    @Test("the disk's free space limits too; eviction frees it")
    func diskFreeSpace() {
        let models = [Self.model("a", mib: 20, usedAt: 1), Self.model("b", mib: 20, usedAt: 2)]
        // 40 of 100 used, but only 10 free on the disk: a 25 MiB pull evicts a (10 + 20 >= 25).
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, freeMiB: 10, neededMiB: 25))) == ["a"])
        // Without a limit the node evicts nothing: refused.
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, limitMiB: nil, freeMiB: 10, neededMiB: 25))) == nil)
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, limitMiB: nil, freeMiB: 30, neededMiB: 25))) == [])
    }

    @Test("storage_full carries the numbers: needed, free and evictable")
    func shortfallNumbers() throws {
        let models = [
            Self.model("pinned", mib: 40, usedAt: 1, pinned: true), Self.model("lone", mib: 20, usedAt: 2, copies: 0),
            Self.model("spare", mib: 30, usedAt: 3),
        ]
        let decision = StoragePlanner.plan(Self.input(models, partialMiB: 5, neededMiB: 60))
        guard case .full(let shortfall) = decision else {
            Issue.record("expected storage_full, got \(decision)")
            return
        }
        #expect(shortfall.neededBytes == 60 * Self.mib)
        #expect(shortfall.freeBytes == 5 * Self.mib)  // 100 - (40 + 20 + 30 + 5)
        #expect(shortfall.evictableBytes == 30 * Self.mib)  // spare only
        #expect(shortfall.usedBytes == 95 * Self.mib)
        #expect(shortfall.limitBytes == 100 * Self.mib)
        #expect(shortfall.message.contains("needs 60.0 MiB"), "\(shortfall.message)")
        #expect(shortfall.message.contains("5.0 MiB is free"), "\(shortfall.message)")
        #expect(shortfall.message.contains("30.0 MiB could be evicted"), "\(shortfall.message)")
        #expect(shortfall.message.contains("--max-storage"), "\(shortfall.message)")
    }

    @Test("a pull larger than the limit is refused whatever could be evicted")
    func largerThanTheLimit() {
        let models = [Self.model("a", mib: 50, usedAt: 1)]
        #expect(Self.evicted(StoragePlanner.plan(Self.input(models, neededMiB: 150))) == nil)
    }

    @Test("sizes parse with decimal and binary units")
    func parsesSizes() {
        #expect(ByteCountText.parse("50GB") == 50_000_000_000)
        #expect(ByteCountText.parse("5 GiB") == 5 << 30)
        #expect(ByteCountText.parse("1.5G") == 3 << 29)
        #expect(ByteCountText.parse("1048576") == 1 << 20)
        #expect(ByteCountText.parse("500mb") == 500_000_000)
        #expect(ByteCountText.parse("-1GB") == nil)
        #expect(ByteCountText.parse("lots") == nil)
        #expect(ByteCountText.parse("5 parsecs") == nil)
        #expect(ByteCountText.format(3 << 29) == "1.5 GiB")
    }
}
