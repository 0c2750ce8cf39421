import AtmoProtocol
import AtmoStore
import AtmoTesting
import Crypto
import Foundation
import Testing

@testable import AtmoTransfer

/// Two sybil peers that name a made-up piece manifest for the same file SHA-256 can get the
/// honest manifest doubted (their bad copies disagree with it). The manifest they name then
/// checks out piece by piece, but its whole file fails the catalog's SHA-256: that proves it
/// wrong, its namers are blamed, and the honest manifest is tried again without them.
@Suite(.serialized)
struct SwarmSybilManifestTests {
    /// Other bytes for the same entry (every piece's first byte flipped) and their manifest.
    static func forged(_ model: (ModelEntry, Data, [UInt8])) -> (entry: ModelEntry, bytes: Data, manifest: [UInt8]) {
        let pieceSize = Int(model.0.pieceSize ?? 1)
        var bytes = model.1
        for index in stride(from: 0, to: bytes.count, by: pieceSize) { bytes[index] ^= 0x55 }
        var digests: [UInt8] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + pieceSize)
            digests += Array(SHA256.hash(data: bytes[offset..<end]))
            offset = end
        }
        var entry = model.0
        entry.piecesSHA256 = SHA256.hash(data: digests).hexString
        return (entry, bytes, digests)
    }

    @Test func twoSybilsNamingAMadeUpManifestDoNotFailThePullFromTheHonestSource() async throws {
        let model = FakePeer.swarmModel()
        let forged = Self.forged(model)
        // The honest first source is slow, so the sybils' bad copies come before any good one.
        let honest = FakePeer.seed(model) { _ in .slow(seconds: 0.05) }
        let sybils = (0..<2).map { _ in
            var sybil = FakePeer(entry: forged.entry, bytes: forged.bytes)
            sybil.manifest = forged.manifest
            return sybil
        }
        let outcomes = OutcomeLog()
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let outcome = try await SwarmPullTests.pull(model.0, from: [honest] + sybils, store: store, outcomes: outcomes, in: directory)
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            #expect(store.installed().map(\.sha256) == [model.0.sha256])
            // Both sybils are blamed for naming a manifest whose file is not the catalog's; the honest source is not.
            let blamed = Set(outcomes.all.filter { if case .failure = $0.outcome { true } else { false } }.compactMap(\.source.nodeID))
            #expect(blamed == ["node-1", "node-2"], "\(outcomes.summary)")
            let succeeded = Set(outcomes.all.filter { if case .success = $0.outcome { true } else { false } }.compactMap(\.source.nodeID))
            #expect(succeeded == ["node-0"], "\(outcomes.summary)")
        }
    }
}
