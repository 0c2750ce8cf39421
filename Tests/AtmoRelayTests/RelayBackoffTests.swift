import AtmoRelay
import Testing

/// Reconnect delays after a refusal (issue 9, item 12): an older relay that restarted
/// refuses members until the founder has registered again, seconds later.
@Suite struct RelayBackoffTests {
    @Test func aRefusalIsRetriedAfterAboutASecondThenBacksOffToTheRefusalCap() {
        var backoff = RelayBackoff()
        var random = SystemRandomNumberGenerator()
        let first = backoff.nextRefusedDelay(using: &random)
        #expect(first >= 500 && first <= 1_000, "first retry after a refusal: \(first) ms")
        var ceilings: [Int64] = []
        for _ in 0..<12 {
            let delay = backoff.nextRefusedDelay(using: &random)
            let ceiling = min(backoff.refusedMs, backoff.refusedBaseMs << Int64(backoff.refusals - 1))
            #expect(delay >= ceiling / 2 && delay <= ceiling, "delay \(delay) outside [\(ceiling / 2), \(ceiling)]")
            ceilings.append(ceiling)
        }
        #expect(ceilings.prefix(3) == [2_000, 4_000, 8_000])
        #expect(ceilings.last == 300_000, "a refusal that persists settles at one attempt per 5 minutes")
    }

    @Test func refusalsAndFailuresCountApartAndAnAdmissionResetsBoth() {
        var backoff = RelayBackoff()
        var random = SystemRandomNumberGenerator()
        for _ in 0..<5 { _ = backoff.nextRefusedDelay(using: &random) }
        #expect(backoff.nextDelay(using: &random) <= 500, "a failed connect after refusals starts from its own base")
        #expect(backoff.nextRefusedDelay(using: &random) > 16_000)
        backoff.succeeded()
        #expect(backoff.refusals == 0 && backoff.failures == 0)
        #expect(backoff.nextRefusedDelay(using: &random) <= 1_000)
    }
}
