#if os(Linux)
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// A pull from one whole-file plain-HTTP source splices its ranges into the partial file
/// (`SplicedRangeConnection`) in long runs, and gives the rest of a run back to the schedule
/// as soon as another holder joins.
@Suite(.serialized)
struct SwarmSplicedPullTests {
    static func pull(
        _ model: (ModelEntry, Data, [UInt8]), splicing: Bool, sources: [String], discovered: [String] = [], in directory: TemporaryDirectory,
        configure: (inout PullConfiguration) -> Void = { _ in }
    ) async throws -> PullResult {
        let store = LocalModelStore(directory: directory.sub("pulled-\(splicing)"))
        var request = PullHarness.request(
            model.0.modelID, from: sources.enumerated().map { PullSource(baseURL: $1, nodeID: "peer\($0)") }, into: store)
        if !discovered.isEmpty {
            let all = (sources + discovered).enumerated().map { PullSource(baseURL: $1, nodeID: "peer\($0)") }
            request.discoverSources = { all }
        }
        var configuration = PullHarness.configuration(connections: 1)
        configuration.splicesRanges = splicing
        configure(&configuration)
        let outcome = try await PullHarness.withEngine(configuration, database: try StateDatabase()) { engine in
            try await withDeadline(60) { [request] in await PullHarness.pull(engine, request) }
        }
        let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
        return result
    }

    @Test(arguments: [true, false])
    func oneWholeFileSourceIsAskedInLongRunsOnlyWhenSpliced(splicing: Bool) async throws {
        let model = FakePeer.swarmModel(size: 12 * 1024 * 1024 + 77)
        let seed = FakePeer.seed(model)
        try await withTemporaryDirectory { directory in
            try await withFakePeers([seed]) { urls in
                _ = try await Self.pull(model, splicing: splicing, sources: urls, in: directory)
            }
        }
        let longest = seed.log.pieces.map(\.length).max() ?? 0
        if splicing {
            #expect(longest > SwarmSession.blockSize, "\(seed.log.pieces.map(\.length))")
        } else {
            #expect(longest <= SwarmSession.blockSize)
        }
        #expect(seed.log.requestedBytes == Int64(model.1.count))
    }

    @Test(arguments: [false, true])
    func aNodesUnlimitedShaperStillSplicesALimitOnDownloadsDoesNot(limited: Bool) async throws {
        // A node always passes its shaper (hostile review dec07f S3): unlimited, its pulls splice.
        let model = FakePeer.swarmModel(size: 12 * 1024 * 1024 + 77)
        let seed = FakePeer.seed(model)
        var limits = BandwidthLimits()
        if limited { limits.down = try #require(ByteRate(parsing: "1GB/s")) }
        let shaper = BandwidthShaper(limits: limits)
        try await withTemporaryDirectory { directory in
            try await withFakePeers([seed]) { urls in
                _ = try await Self.pull(model, splicing: true, sources: urls, in: directory) { $0 = $0.shaped(by: shaper) }
            }
        }
        let longest = seed.log.pieces.map(\.length).max() ?? 0
        #expect((longest > SwarmSession.blockSize) == !limited, "\(seed.log.pieces.map(\.length))")
    }

    @Test func aHolderFoundWhileASplicedRunIsInFlightTakesTheRestOfIt() async throws {
        // 16 MiB in one spliced run from a source sending 64 KiB every 50 ms (12 s alone);
        // the holder found after about 2 s ends that run at its next piece and serves.
        let model = FakePeer.swarmModel(size: 256 * 64 * 1024 + 123)
        let first = FakePeer.seed(model) { _ in .trickle(bytes: 64 * 1024, every: 0.05) }
        let later = FakePeer.seed(model)
        try await withTemporaryDirectory { directory in
            try await withFakePeers([first, later]) { urls in
                _ = try await Self.pull(model, splicing: true, sources: [urls[0]], discovered: [urls[1]], in: directory)
            }
        }
        #expect(first.log.pieces.first.map { $0.length > SwarmSession.blockSize } == true, "\(first.log.pieces)")
        #expect(later.log.requestedBytes > Int64(model.1.count) / 4, "\(later.log.requestedBytes)")
    }
}
#endif
