import Foundation
import Testing

@testable import AtmoProtocol

/// `TokenBucket` (messages for the relay, bytes for the shaper), `ByteRate` and the limits'
/// JSON, without I/O.
struct ShapingBucketTests {
    static let second: Int64 = 1_000_000_000

    @Test func takeRefusesWithoutTokensAndRefillsWithTime() {
        var bucket = TokenBucket(rate: 10, capacity: 2, now: 0)
        do {
            let result = bucket.take(now: 0)
            #expect(result)
        }
        do {
            let result = bucket.take(now: 0)
            #expect(result)
        }
        do {
            let result = bucket.take(now: 0)
            #expect(!result)
        }
        // A tenth of a second gives one token back, never more than the capacity.
        do {
            let result = bucket.take(now: Self.second / 10)
            #expect(result)
        }
        do {
            let result = bucket.take(now: Self.second / 10)
            #expect(!result)
        }
        do {
            let result = bucket.take(now: 100 * Self.second)
            #expect(result)
        }
        do {
            let result = bucket.take(now: 100 * Self.second)
            #expect(result)
        }
        do {
            let result = bucket.take(now: 100 * Self.second)
            #expect(!result)
        }
    }

    @Test func reserveGoesIntoDebtAndWaitsAsAWhole() {
        // 1 MB/s, 100 kB saved: a 4 MB write is not split, it waits 3.9 s.
        var bucket = TokenBucket(rate: 1_000_000, capacity: 100_000, now: 0)
        do {
            let result = bucket.reserve(4_000_000, now: 0)
            #expect(result == 3_900_000_000)
        }
        // The next caller waits behind that debt, in turn.
        do {
            let result = bucket.reserve(1_000_000, now: 0)
            #expect(result == 4_900_000_000)
        }
        // Once the debt is paid back, writes within the savings go at once.
        do {
            let result = bucket.reserve(50_000, now: 5 * Self.second)
            #expect(result == 0)
        }
    }

    @Test func bytesOverTimeHoldTheRate() {
        // A writer of 512 KiB chunks that sleeps as told sends rate x time, plus one burst.
        let rate = 2_000_000.0
        var bucket = TokenBucket(rate: rate, capacity: rate * 0.1, now: 0)
        var now: Int64 = 0
        var sent: Int64 = 0
        while now < 30 * Self.second {
            now += bucket.reserve(512 * 1024, now: now)
            sent += 512 * 1024
        }
        let expected = rate * 30
        #expect(abs(Double(sent) - expected) / expected < 0.02)
    }

    @Test func changingTheRateKeepsTheDebt() {
        var bucket = TokenBucket(rate: 1_000, capacity: 0, now: 0)
        do {
            let result = bucket.reserve(2_000, now: 0)
            #expect(result == 2 * Self.second)
        }
        bucket.change(rate: 2_000, capacity: 0, now: 0)
        #expect(bucket.waitNs == Self.second)
        #expect(bucket.isFull(now: Self.second))
    }

    @Test(
        arguments: [
            ("20MB/s", 20e6 as Double), ("20 MB/s", 20e6), ("5Mbps", 625_000), ("800kbps", 100_000), ("1.5GB/s", 1.5e9),
            ("10MiB/s", 10 * 1_048_576), ("500KB", 500_000), ("1048576", 1_048_576), ("2Mbit/s", 250_000), ("64kB/s", 64_000),
        ] as [(String, Double)])
    func parsesRates(_ text: String, _ bytesPerSecond: Double) {
        #expect(ByteRate(parsing: text)?.bytesPerSecond == bytesPerSecond)
    }

    @Test(arguments: ["unlimited", "none", "0", "off"])
    func parsesUnlimited(_ text: String) {
        #expect(ByteRate(parsing: text) == .unlimited)
    }

    @Test(arguments: ["", "fast", "-5MB/s", "5XB/s", "MB/s", "1e400", "5 M B"])
    func refusesNonRates(_ text: String) {
        #expect(ByteRate(parsing: text) == nil)
    }

    @Test func printsAndParsesBack() {
        #expect(ByteRate(bytesPerSecond: 20e6).description == "20MB/s")
        #expect(ByteRate(bytesPerSecond: 625_000).description == "625KB/s")
        #expect(ByteRate(bytesPerSecond: 1.5e9).description == "1.5GB/s")
        #expect(ByteRate(bytesPerSecond: 512).description == "512B/s")
        #expect(ByteRate.unlimited.description == "unlimited")
        for value in [1.0, 999, 1234.5, 2_000_000, 10_485_760, 3.3e9] {
            let back = ByteRate(parsing: ByteRate(bytesPerSecond: value).description)?.bytesPerSecond ?? 0
            #expect(abs(back - value) / value < 0.001)
        }
    }

    @Test func limitsDecodeWithDefaultsAndEncodeAsText() throws {
        let json = #"{"up": "20MB/s", "per_peer": {"down": 1000000}, "peers": {"n1": {"up": "5Mbps"}}, "size_class_policy": "seed"}"#
        let limits = try JSONDecoder().decode(BandwidthLimits.self, from: Data(json.utf8))
        #expect(limits.up.bytesPerSecond == 20e6)
        #expect(limits.down.isUnlimited)
        #expect(limits.perPeer.down.bytesPerSecond == 1e6)
        #expect(limits.peerRate("n1", .up).bytesPerSecond == 625_000)
        #expect(limits.peerRate("n1", .down).isUnlimited)  // its own entry, unlimited down
        #expect(limits.peerRate("n2", .down).bytesPerSecond == 1e6)
        #expect(limits.sizeClassPolicy == .seed)
        #expect(!limits.adaptiveUploads)
        #expect(!limits.isUnlimited)
        #expect(BandwidthLimits().isUnlimited)
        let again = try JSONDecoder().decode(BandwidthLimits.self, from: JSONEncoder().encode(limits))
        #expect(again == limits)
        #expect(try JSONDecoder().decode(String.self, from: JSONEncoder().encode(limits.up)) == "20MB/s")
    }

    @Test func limitsRefuseBadJSON() {
        for json in [#"{"up": "fast"}"#, #"{"size_class_policy": "huge"}"#, #"{"up": -1}"#, #"{"peers": {"": {}}}"#] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(BandwidthLimits.self, from: Data(json.utf8)) }
        }
    }

    @Test func seedSizeClasses() {
        let seed = SizeClassPolicy.seed
        #expect(seed.rate(forModelSize: 9_999_999).isUnlimited)
        #expect(seed.rate(forModelSize: 10_000_000).bytesPerSecond == 625_000)
        #expect(seed.rate(forModelSize: 500_000_000).bytesPerSecond == 625_000)
        #expect(seed.rate(forModelSize: 500_000_001).bytesPerSecond == 250_000)
        #expect(seed.rate(forModelSize: nil).isUnlimited)
        #expect(SizeClassPolicy.off.rate(forModelSize: 5_000_000_000).isUnlimited)
    }
}
