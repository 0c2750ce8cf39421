import AtmoProtocol
import Testing

@testable import AtmoTransfer

/// The fail-over decisions of a pull, without I/O: which source next, what is skipped,
/// when to restart, when to stop, and which error the pull ends with.
struct SourceSelectionTests {
    let a = PullSource(baseURL: "http://a.test:1", nodeID: "node-a")
    let b = PullSource(baseURL: "http://b.test:1")
    let c = PullSource(baseURL: "http://c.test:1")
    static let shaX = String(repeating: "a", count: 64)
    static let shaY = String(repeating: "b", count: 64)

    static func entry(sha256: String = shaX, size: Int64 = 100, id: String = "m", name: String = "M") -> ModelEntry {
        ModelEntry(modelID: id, name: name, type: "llm", format: "gguf", sizeBytes: size, sha256: sha256, version: "1")
    }

    func selection(_ sources: [PullSource], expected: String? = nil) -> SourceSelection {
        SourceSelection(modelID: "m", sources: sources, expectedSHA256: expected)
    }

    func asked(_ next: SourceSelection.Next) -> PullSource? {
        if case .ask(let source) = next { return source }
        return nil
    }

    func gaveUp(_ next: SourceSelection.Next) -> TransferError? {
        if case .giveUp(let error) = next { return error }
        return nil
    }

    func used(_ verdict: SourceSelection.Verdict) -> ModelEntry? {
        if case .use(let entry) = verdict { return entry }
        return nil
    }

    func skipped(_ verdict: SourceSelection.Verdict) -> TransferError? {
        if case .skip(let error) = verdict { return error }
        return nil
    }

    func isFailOver(_ decision: SourceSelection.Decision) -> Bool {
        if case .failOver = decision { return true }
        return false
    }

    func isRestart(_ decision: SourceSelection.Decision) -> Bool {
        if case .restart = decision { return true }
        return false
    }

    func stopped(_ decision: SourceSelection.Decision) -> TransferError? {
        if case .stop(let error) = decision { return error }
        return nil
    }

    @Test func theFirstSourceThatOffersTheModelIsUsed() {
        var selection = selection([a, b])
        #expect(asked(selection.next()) == a)
        #expect(used(selection.answered(a, entry: Self.entry())) == Self.entry())
        #expect(selection.pinned == Self.entry())
        #expect(selection.attempts.isEmpty)
    }

    @Test func aFailedLookUpMovesOnAndTheEndListsEverySource() throws {
        var selection = selection([a, b])
        #expect(asked(selection.next()) == a)
        #expect(isFailOver(selection.failed(a, TransferError(.peerUnreachable, "cannot connect to http://a.test:1"), transferring: false)))
        #expect(asked(selection.next()) == b)
        #expect(skipped(selection.answered(b, entry: nil))?.code == .notOffered)
        let error = try #require(gaveUp(selection.next()))
        // The unreachable source might have had it; the one that answered "no" surely not.
        #expect(error.code == .peerUnreachable)
        #expect(error.message.contains("any of 2 sources"), "\(error.message)")
        #expect(error.message.contains("  - http://a.test:1 (node node-a): cannot connect to http://a.test:1"), "\(error.message)")
        #expect(error.message.contains("  - http://b.test:1: http://b.test:1 does not offer m"), "\(error.message)")
        #expect(error.underlying is TransferError)
        // Asking again changes nothing.
        #expect(gaveUp(selection.next())?.code == .peerUnreachable)
    }

    @Test func aFailedTransferIsTheMostRelevantError() throws {
        var selection = selection([a, b, c])
        _ = selection.next()
        _ = selection.answered(a, entry: Self.entry())
        #expect(isFailOver(selection.failed(a, TransferError(.timeout, "a stopped sending data"), transferring: true)))
        _ = selection.next()
        #expect(isFailOver(selection.failed(b, TransferError(.peerError, "b answered 500"), transferring: false)))
        _ = selection.next()
        _ = selection.answered(c, entry: nil)
        let error = try #require(gaveUp(selection.next()))
        #expect(error.code == .timeout)
        #expect(error.exitCode == 3)
        let lines = error.message.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0] == "could not pull m from any of 3 sources:")
        #expect(lines[1].hasPrefix("  - http://a.test:1 (node node-a): ") && lines[2].hasPrefix("  - http://b.test:1: "))
        #expect(lines[1].contains("a stopped sending data") && lines[2].contains("b answered 500") && lines[3].contains("does not offer"))
    }

    @Test func onATieTheLaterSourceWins() throws {
        var selection = selection([a, b])
        _ = selection.next()
        _ = selection.failed(a, TransferError(.peerError, "a answered 500"), transferring: false)
        _ = selection.next()
        _ = selection.failed(b, TransferError(.peerUnreachable, "b refused"), transferring: false)
        #expect(gaveUp(selection.next())?.code == .peerUnreachable)
    }

    @Test func onceAVersionIsPinnedOtherVersionsAreSkipped() throws {
        var selection = selection([a, b, c])
        _ = selection.next()
        _ = selection.answered(a, entry: Self.entry(name: "from a"))
        #expect(isFailOver(selection.failed(a, TransferError(.peerUnreachable, "gone"), transferring: true)))
        #expect(asked(selection.next()) == b)
        let skip = try #require(skipped(selection.answered(b, entry: Self.entry(sha256: Self.shaY))))
        #expect(skip.code == .sourceChanged)
        #expect(skip.message.contains(Self.shaY) && skip.message.contains("never mixed"), "\(skip.message)")
        #expect(asked(selection.next()) == c)
        // The same hash with another size is another artefact, too.
        #expect(skipped(selection.answered(c, entry: Self.entry(size: 101)))?.code == .sourceChanged)
        // Same artefact, other metadata: the pinned entry is what gets installed.
        var again = self.selection([a, b])
        _ = again.next()
        _ = again.answered(a, entry: Self.entry(name: "from a"))
        _ = again.failed(a, TransferError(.peerUnreachable, "gone"), transferring: true)
        _ = again.next()
        #expect(used(again.answered(b, entry: Self.entry(name: "from b")))?.name == "from a")
    }

    @Test func theExpectedHashIsRequired() throws {
        var selection = selection([a, b], expected: Self.shaX.uppercased())
        _ = selection.next()
        let skip = try #require(skipped(selection.answered(a, entry: Self.entry(sha256: Self.shaY))))
        #expect(skip.code == .sourceChanged)
        #expect(skip.message.contains("not the requested \(Self.shaX)"), "\(skip.message)")
        #expect(selection.pinned == nil)
        #expect(asked(selection.next()) == b)
        #expect(used(selection.answered(b, entry: Self.entry())) != nil)
    }

    @Test func theEntryOfAnotherModelIsAProtocolViolation() {
        var selection = selection([a])
        _ = selection.next()
        #expect(skipped(selection.answered(a, entry: Self.entry(id: "other")))?.code == .protocolViolation)
        #expect(selection.pinned == nil)
        #expect(gaveUp(selection.next())?.code == .protocolViolation)
    }

    @Test func aHashMismatchRestartsOnceThenStops() throws {
        var selection = selection([a, b, c])
        _ = selection.next()
        _ = selection.answered(a, entry: Self.entry())
        #expect(isRestart(selection.failed(a, TransferError(.hashMismatch, "a: bad hash"), transferring: true)))
        #expect(asked(selection.next()) == b)
        #expect(used(selection.answered(b, entry: Self.entry())) != nil)
        let error = try #require(stopped(selection.failed(b, TransferError(.hashMismatch, "b: bad hash"), transferring: true)))
        #expect(error.code == .hashMismatch)
        #expect(error.message.contains("a: bad hash") && error.message.contains("b: bad hash"), "\(error.message)")
        #expect(error.message.contains("failed twice"), "\(error.message)")
    }

    @Test func aHashMismatchWithNoSourceLeftKeepsItsMessage() {
        var selection = selection([a])
        _ = selection.next()
        _ = selection.answered(a, entry: Self.entry())
        #expect(isRestart(selection.failed(a, TransferError(.hashMismatch, "a: bad hash"), transferring: true)))
        let error = gaveUp(selection.next())
        #expect(error?.code == .hashMismatch)
        #expect(error?.message == "a: bad hash")
    }

    @Test(arguments: [TransferError.Code.cancelled, .storageFull, .permissionDenied, .localError, .alreadyRunning])
    func failuresThatAreNotTheSourcesStopAtOnce(code: TransferError.Code) {
        var selection = selection([a, b])
        _ = selection.next()
        _ = selection.answered(a, entry: Self.entry())
        #expect(stopped(selection.failed(a, TransferError(code, "local trouble"), transferring: true))?.message == "local trouble")
        #expect(selection.attempts.isEmpty)
        #expect(!SourceSelection.isSourceFailure(TransferError(code, "")))
    }

    @Test(arguments: [
        TransferError.Code.peerUnreachable, .timeout, .peerError, .sourceChanged, .protocolViolation, .notOffered, .hashMismatch,
    ])
    func sourceFailuresMoveOn(code: TransferError.Code) {
        #expect(SourceSelection.isSourceFailure(TransferError(code, "")))
        var selection = selection([a, b])
        _ = selection.next()
        _ = selection.answered(a, entry: Self.entry())
        #expect(stopped(selection.failed(a, TransferError(code, "x"), transferring: true)) == nil)
        #expect(asked(selection.next()) == b)
    }

    @Test func duplicatesAreAskedOnceAndSlashesDoNotCount() {
        var selection = selection([a, PullSource(baseURL: "http://b.test:1/"), a, b])
        #expect(selection.sources == [a, b])
        #expect(asked(selection.next()) == a)
        #expect(asked(selection.next()) == b)
        #expect(gaveUp(selection.next()) != nil)
    }

    @Test func noSourceIsNotOffered() {
        var selection = selection([])
        let error = gaveUp(selection.next())
        #expect(error?.code == .notOffered)
        #expect(error?.message == "no source to pull m from")
    }
}
