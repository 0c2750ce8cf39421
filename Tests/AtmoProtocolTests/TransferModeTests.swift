import Testing

@testable import AtmoProtocol

/// `TransferMode`: wire strings, chunk sizes and negotiation.
struct TransferModeTests {
    static let all = Set(TransferMode.allCases)

    @Test func wireStrings() {
        #expect(TransferMode.fastBinary.rawValue == "fast_binary")
        #expect(TransferMode.fastText.rawValue == "fast_text")
        #expect(TransferMode.compat.rawValue == "compat")
    }

    @Test func chunkSizes() {
        #expect(TransferMode.compat.defaultChunkBytes == 65_536)
        #expect(TransferMode.fastText.defaultChunkBytes == 262_144)
        #expect(TransferMode.fastBinary.defaultChunkBytes == 1_048_576)
        #expect(TransferMode.fastBinary.maxChunkBytes == 4_194_304)
        #expect(TransferMode.fastBinary.chunkBytes(consumerMax: nil) == 1_048_576)
        #expect(TransferMode.fastBinary.chunkBytes(consumerMax: 300_000) == 300_000)
        #expect(TransferMode.fastBinary.chunkBytes(consumerMax: 8_000_000) == 1_048_576)
        #expect(TransferMode.compat.chunkBytes(consumerMax: 1) == TransferMode.minChunkBytes)
    }

    @Test func absentOrEmptyListMeansCompat() {
        #expect(TransferMode.negotiate(consumerModes: nil, providerModes: Self.all, pathSupportsBinary: true) == .compat)
        #expect(TransferMode.negotiate(consumerModes: [], providerModes: Self.all, pathSupportsBinary: true) == .compat)
    }

    @Test func firstConsumerModeTheProviderSupportsWins() {
        let modes = ["fast_binary", "fast_text", "compat"]
        #expect(TransferMode.negotiate(consumerModes: modes, providerModes: Self.all, pathSupportsBinary: true) == .fastBinary)
        #expect(
            TransferMode.negotiate(consumerModes: ["fast_text", "fast_binary"], providerModes: Self.all, pathSupportsBinary: true)
                == .fastText)
        #expect(TransferMode.negotiate(consumerModes: modes, providerModes: [.fastText], pathSupportsBinary: true) == .fastText)
        #expect(TransferMode.negotiate(consumerModes: modes, providerModes: [], pathSupportsBinary: true) == .compat)
    }

    @Test func binaryOnlyWhenThePathCarriesIt() {
        let modes = ["fast_binary", "fast_text"]
        #expect(TransferMode.negotiate(consumerModes: modes, providerModes: Self.all, pathSupportsBinary: false) == .fastText)
        #expect(TransferMode.negotiate(consumerModes: ["fast_binary"], providerModes: Self.all, pathSupportsBinary: false) == .compat)
    }

    @Test func unknownModesAreSkipped() {
        let modes = ["warp_drive", "FAST_TEXT", "fast_text"]
        #expect(TransferMode.negotiate(consumerModes: modes, providerModes: Self.all, pathSupportsBinary: true) == .fastText)
    }
}
