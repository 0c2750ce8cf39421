import Testing

@testable import AtmoMesh

struct ModelVersionOrderTests {
    @Test func orderedVersionsCompareNumberByNumber() {
        #expect(ModelVersionOrder.compare("1.2.10", "1.2.9") == .newer)
        #expect(ModelVersionOrder.compare("v1.2", "1.2.0") == .same)
        #expect(ModelVersionOrder.compare("2024.02.08.001", "2024.02.08.002") == .older)
        #expect(ModelVersionOrder.compare("2026.12.07.031512", "2026.12.07.031511") == .newer)
        #expect(ModelVersionOrder.compare("1.0.0-rc.1", "1.0.0") == .older)
        #expect(ModelVersionOrder.compare("1.0.0+build.7", "1.0.0") == .same)
    }

    @Test func anythingElseIsUnordered() {
        for odd in ["3f2a9c1b7d0e", "", "latest", "1..2", "1.2.", "-1", "1.2.3.4.5.6.7.8.9", "1234567890123456789", "1.0-"] {
            #expect(ModelVersionOrder.compare(odd, "1.0") == .unordered, "\(odd)")
        }
        #expect(ModelVersionOrder.compare(String(repeating: "1.", count: 40) + "1", "1") == .unordered)
    }
}

struct UpdatePlannerTests {
    let a = String(repeating: "a", count: 64)
    let b = String(repeating: "b", count: 64)
    let c = String(repeating: "c", count: 64)

    func offer(_ sha: String, _ version: String, complete: Bool = true, source: String? = nil, id: String = "m") -> UpdatePlanner.Offer {
        UpdatePlanner.Offer(modelID: id, sha256: sha, version: version, source: source, sizeBytes: 10, complete: complete)
    }

    func installed(_ sha: String, _ version: String, at ms: Int64 = 1_000, source: String? = nil) -> [String: UpdatePlanner.Installed] {
        ["m": UpdatePlanner.Installed(sha256: sha, version: version, source: source, installedAtMs: ms)]
    }

    func follow(_ mode: UpdatePlanner.Mode = .auto, declined: Set<String> = []) -> [UpdatePlanner.Follow] {
        [UpdatePlanner.Follow(modelID: "m", mode: mode, declined: declined)]
    }

    @Test func aNewerVersionIsPulledInAutoAndShownInPrompt() {
        var planner = UpdatePlanner()
        let offers = [offer(a, "1.0"), offer(b, "1.1")]
        let auto = planner.plan(follows: follow(), installed: installed(a, "1.0"), offers: offers, downloading: [], now: 2_000)
        guard case .pull(let update) = auto.first else {
            Issue.record("\(auto)")
            return
        }
        #expect(update.sha256 == b && update.reason == .version && update.installedSHA256 == a)
        let prompt = planner.plan(follows: follow(.prompt), installed: installed(a, "1.0"), offers: offers, downloading: [], now: 2_000)
        #expect(prompt == [.prompt(update)])
    }

    @Test func nothingToDoWhenUpToDateDownloadingOrNotOffered() {
        var planner = UpdatePlanner()
        #expect(
            planner.plan(follows: follow(), installed: installed(b, "1.1"), offers: [offer(b, "1.1")], downloading: [], now: 2_000)
                == [.ignore(modelID: "m", .upToDate)])
        #expect(
            planner.plan(follows: follow(), installed: installed(a, "1.0"), offers: [offer(b, "1.1")], downloading: ["m"], now: 2_000)
                == [.ignore(modelID: "m", .downloading)])
        // Only a partial holder announces it: not pulled by itself.
        #expect(
            planner.plan(follows: follow(), installed: [:], offers: [offer(b, "1.1", complete: false)], downloading: [], now: 2_000)
                == [.ignore(modelID: "m", .notOffered)])
        // Followed, not installed: the newest version is pulled.
        let first = planner.plan(
            follows: follow(), installed: [:], offers: [offer(a, "1.0"), offer(b, "1.1")], downloading: [], now: 2_000)
        #expect(first.first.map { if case .pull(let u) = $0 { u.sha256 == b && u.reason == .notInstalled } else { false } } == true)
        // Not followed: nothing at all.
        #expect(planner.plan(follows: [], installed: installed(a, "1.0"), offers: [offer(b, "2.0")], downloading: [], now: 2_000).isEmpty)
    }

    @Test func anOlderVersionWithAFreshAnnouncementIsNeverPulled() {
        var planner = UpdatePlanner()
        // Installed 2.0 long ago; a peer announces 1.9 now (first seen after the install).
        let actions = planner.plan(
            follows: follow(), installed: installed(b, "2.0", at: 1_000), offers: [offer(a, "1.9"), offer(b, "2.0")], downloading: [],
            now: 50_000)
        #expect(actions == [.ignore(modelID: "m", .upToDate)])
    }

    @Test func unorderedVersionsUseThisNodesFirstSighting() {
        var planner = UpdatePlanner()
        // Hugging Face commit prefixes: never ordered, even when they look like numbers.
        let hf = "huggingface"
        // Seen before the install (at 500): the other node's older snapshot, not an update.
        _ = planner.plan(
            follows: follow(), installed: [:], offers: [offer(a, "111111111111", source: hf), offer(b, "999999999999", source: hf)],
            downloading: ["m"], now: 500)
        let held = installed(a, "111111111111", at: 1_000, source: hf)
        #expect(
            planner.plan(follows: follow(), installed: held, offers: [offer(b, "999999999999", source: hf)], downloading: [], now: 5_000)
                == [.ignore(modelID: "m", .upToDate)])
        // A new snapshot, first seen after the install: an update.
        let actions = planner.plan(
            follows: follow(), installed: held, offers: [offer(b, "999999999999", source: hf), offer(c, "000000000001", source: hf)],
            downloading: [], now: 6_000)
        guard case .pull(let update) = actions.first else {
            Issue.record("\(actions)")
            return
        }
        #expect(update.sha256 == c && update.reason == .seenLater)
        #expect(planner.takeNewSightings().map(\.sha256) == [a, b, c])
        #expect(planner.takeNewSightings().isEmpty)
    }

    @Test func aDeclinedVersionIsNotPulledAgainButALaterOneIs() {
        var planner = UpdatePlanner()
        let rolledBack = planner.plan(
            follows: follow(declined: [b]), installed: installed(a, "1.0"), offers: [offer(b, "1.1")], downloading: [], now: 2_000)
        #expect(rolledBack == [.ignore(modelID: "m", .declined)])
        let later = planner.plan(
            follows: follow(declined: [b]), installed: installed(a, "1.0"), offers: [offer(b, "1.1"), offer(c, "1.2")], downloading: [],
            now: 3_000)
        #expect(later.first.map { if case .pull(let u) = $0 { u.sha256 == c } else { false } } == true)
    }

    @Test func aThousandVersionsOfOneIdGiveOneActionAndBoundedState() {
        var planner = UpdatePlanner()
        let hex = Array("0123456789abcdef")
        func sha(_ n: Int) -> String {
            var value = n
            var text = ""
            for _ in 0..<64 {
                text.append(hex[value % 16])
                value /= 16
            }
            return text
        }
        // Unordered versions flooding in; the real update (ordered, newer) is among them.
        var offers = (0..<1_000).map { offer(sha($0 + 1), "flood-\($0)") }
        offers.append(offer(c, "1.1"))
        let actions = planner.plan(follows: follow(), installed: installed(a, "1.0"), offers: offers, downloading: [], now: 2_000)
        #expect(actions.count == 1)
        #expect(actions.first.map { if case .pull(let u) = $0 { u.sha256 == c && u.reason == .version } else { false } } == true)
        #expect((planner.firstSeen["m"]?.count ?? 0) <= UpdatePlanner.maxSightingsPerModel)
        #expect(planner.takeNewSightings().count <= UpdatePlanner.maxSightingsPerModel)
        // The next flood of other versions does not push out sightings of versions still
        // offered, and a version not recorded is never newer by sighting.
        let again = planner.plan(
            follows: follow(), installed: installed(c, "1.1", at: 2_500), offers: offers + (2_000..<3_000).map { offer(sha($0), "x") },
            downloading: [], now: 9_000)
        #expect((planner.firstSeen["m"]?.count ?? 0) <= UpdatePlanner.maxSightingsPerModel)
        #expect(again == [.ignore(modelID: "m", .upToDate)])
    }

    @Test func aFloodOfIdsIsOnlyTrackedForFollowedOnes() {
        var planner = UpdatePlanner()
        let offers = (0..<2_000).map { offer(a, "1.0", id: "other-\($0)") } + [offer(b, "1.1")]
        let actions = planner.plan(follows: follow(), installed: installed(a, "1.0"), offers: offers, downloading: [], now: 2_000)
        #expect(actions.count == 1)
        #expect(planner.firstSeen.keys.sorted() == ["m"])
        // Unfollowed: its sightings go.
        _ = planner.plan(follows: [], installed: [:], offers: offers, downloading: [], now: 3_000)
        #expect(planner.firstSeen.isEmpty)
    }

    @Test func modeNames() {
        #expect(UpdatePlanner.Mode(name: "auto-update") == .auto)
        #expect(UpdatePlanner.Mode(name: "Prompt") == .prompt)
        #expect(UpdatePlanner.Mode(name: "sometimes") == nil)
    }
}
