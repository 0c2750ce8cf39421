import AtmoProtocol
import Foundation
import Testing

@testable import AtmoRelay

@Suite struct RelayBinaryTests {
    /// A mesh whose founder (1) and `fast` (2) take binary frames and `plain` (3) does not.
    func meshWithBinaryPeers(configuration: RelayConfiguration = RelayConfiguration()) -> RelayHarness {
        var harness = RelayHarness(configuration: configuration)
        harness.open(
            1,
            .registerMesh(
                meshID: Fixture.meshID, meshPublicKey: Fixture.founderKey, founderProof: Fixture.proof(), nodeID: "founder",
                name: "founder", capabilities: ["participant", RelayBinaryFrame.capability]))
        harness.open(
            2, .join(nodeID: "fast", token: Fixture.token(), capabilities: [RelayBinaryFrame.capability], name: "fast"))
        harness.open(3, Fixture.join("plain", token: Fixture.token()))
        return harness
    }

    @Test func directBinaryIsForwardedWithTheSendersID() {
        var harness = meshWithBinaryPeers()
        let actions = harness.relay.received(
            binary: .direct(target: "fast", payloadBytes: 1_000), on: ConnectionID(1), frameBytes: 1_008, now: harness.now)
        #expect(actions == [.forwardBinary(ConnectionID(2), from: "founder")])
        #expect(harness.relay.statistics.messagesRelayed == 1)
        #expect(harness.relay.statistics.bytesRelayed == 1_000)
    }

    @Test func aPeerWithoutTheCapabilityIsRefused() {
        var harness = meshWithBinaryPeers()
        let actions = harness.relay.received(
            binary: .direct(target: "plain", payloadBytes: 10), on: ConnectionID(2), frameBytes: 17, now: harness.now)
        #expect(errorCodes(to: 2, in: actions) == [.binaryNotSupported])
        #expect(closure(of: 2, in: actions) == nil)
        #expect(sent(to: 3, in: actions).isEmpty)
    }

    @Test func anUnknownTargetIsNotFound() {
        var harness = meshWithBinaryPeers()
        let actions = harness.relay.received(
            binary: .direct(target: "zed", payloadBytes: 10), on: ConnectionID(2), frameBytes: 15, now: harness.now)
        #expect(actions == [.send(ConnectionID(2), .error(code: .peerNotFound, message: "Peer zed not found"))])
    }

    @Test func aMalformedHeaderIsAnErrorAndCounted() {
        var harness = meshWithBinaryPeers()
        let actions = harness.relay.received(
            binary: .malformed(reason: "unknown kind 0x7"), on: ConnectionID(2), frameBytes: 9, now: harness.now)
        #expect(errorCodes(to: 2, in: actions) == [.invalidMessage])
        #expect(harness.relay.statistics.messagesDropped == 1)
    }

    @Test func binaryBeforeAdmissionIsRefused() {
        var harness = meshWithBinaryPeers()
        harness.connect(9)
        let actions = harness.relay.received(
            binary: .direct(target: "fast", payloadBytes: 10), on: ConnectionID(9), frameBytes: 16, now: harness.now)
        #expect(errorCodes(to: 9, in: actions) == [.notJoined])
        #expect(closure(of: 9, in: actions)?.code == .policyViolation)
        #expect(!actions.contains(.forwardBinary(ConnectionID(2), from: "founder")))
    }

    @Test func aFrameOverTheBinaryLimitClosesWithMessageTooBig() {
        var harness = meshWithBinaryPeers(configuration: RelayConfiguration(maxFrameBytes: 100, maxBinaryFrameBytes: 1_000))
        // Larger than the text limit is fine for a binary frame...
        let fits = harness.relay.received(
            binary: .direct(target: "fast", payloadBytes: 990), on: ConnectionID(1), frameBytes: 1_000, now: harness.now)
        #expect(fits == [.forwardBinary(ConnectionID(2), from: "founder")])
        // ...above the binary limit is not.
        let tooBig = harness.relay.received(
            binary: .direct(target: "fast", payloadBytes: 991), on: ConnectionID(1), frameBytes: 1_001, now: harness.now)
        #expect(closure(of: 1, in: tooBig)?.code == .messageTooBig)
    }

    @Test func forwardedFramesAreExemptFromTheRateButErrorsAreNot() {
        var harness = meshWithBinaryPeers(configuration: RelayConfiguration(messagesPerSecond: 1, messageBurst: 3))
        for _ in 0..<50 {
            let actions = harness.relay.received(
                binary: .direct(target: "fast", payloadBytes: 10), on: ConnectionID(1), frameBytes: 20, now: harness.now)
            #expect(actions == [.forwardBinary(ConnectionID(2), from: "founder")])
        }
        // The founder's register took one of its three tokens: two errors pass, the third closes.
        for _ in 0..<2 {
            let actions = harness.relay.received(
                binary: .direct(target: "plain", payloadBytes: 10), on: ConnectionID(1), frameBytes: 20, now: harness.now)
            #expect(errorCodes(to: 1, in: actions) == [.binaryNotSupported])
        }
        let actions = harness.relay.received(
            binary: .direct(target: "plain", payloadBytes: 10), on: ConnectionID(1), frameBytes: 20, now: harness.now)
        #expect(closure(of: 1, in: actions)?.reason.contains("rate limit") == true)
    }

    @Test func aBinaryFrameKeepsThePeerFromBeingIdle() {
        var harness = meshWithBinaryPeers()
        harness.advance(seconds: 100)
        _ = harness.relay.received(
            binary: .direct(target: "fast", payloadBytes: 1), on: ConnectionID(1), frameBytes: 11, now: harness.now)
        harness.advance(seconds: 30)
        let actions = harness.relay.tick(now: harness.now)
        #expect(closure(of: 1, in: actions) == nil)
        #expect(closure(of: 2, in: actions) != nil)
    }
}

@Suite struct RelayBinaryFrameTests {
    @Test func headerRoundTrips() throws {
        let header = try #require(RelayBinaryFrame.directHeader(nodeID: "node-7"))
        #expect(header == [0x01, 6] + Array("node-7".utf8))
        let parsed = try RelayBinaryFrame.parseDirectHeader(header + [0xFF, 0x00])
        #expect(parsed == RelayBinaryFrame.Header(nodeID: "node-7", length: 8))
    }

    @Test(arguments: [
        [UInt8](), [0x02, 1, 65], [0x01], [0x01, 0], [0x01, 65] + Array(repeating: 65, count: 65), [0x01, 5, 65, 66],
        [0x01, 2, 65, 0x20], [0x01, 2, 0xC3, 0xA9],
    ])
    func malformedHeadersAreRefused(frame: [UInt8]) {
        #expect(throws: WireError.self) { try RelayBinaryFrame.parseDirectHeader(frame) }
    }

    @Test func idsThatCannotBeCarriedHaveNoHeader() {
        #expect(RelayBinaryFrame.directHeader(nodeID: "") == nil)
        #expect(RelayBinaryFrame.directHeader(nodeID: String(repeating: "a", count: 65)) == nil)
        #expect(RelayBinaryFrame.directHeader(nodeID: "has space") == nil)
        #expect(RelayBinaryFrame.directHeader(nodeID: String(repeating: "a", count: 64))?.count == 66)
    }
}
