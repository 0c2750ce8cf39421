import Foundation
import NIOCore
import Testing

@testable import AtmoNode

/// When a body's reads leave the event loop: only for a disk that is working, not for a
/// thread that was preempted while the page cache served it.
struct LoopReadWatchTests {
    let limit = TimeAmount.milliseconds(2)

    @Test func aReadWithinTheLimitIsNotSlow() {
        #expect(!LoopReadWatch.isSlow(elapsed: .microseconds(1_500), limit: limit, diskInput: true))
        #expect(!LoopReadWatch.isSlow(elapsed: .microseconds(1_500), limit: limit, diskInput: nil))
    }

    @Test func aLongReadWithoutDiskInputStaysOnTheLoop() {
        // A preempted thread: 10 ms on a busy machine, every byte from the page cache.
        #expect(!LoopReadWatch.isSlow(elapsed: .milliseconds(10), limit: limit, diskInput: false))
        #expect(!LoopReadWatch.isSlow(elapsed: .milliseconds(50), limit: limit, diskInput: false))
    }

    @Test func aLongReadThatReadTheDiskIsSlow() {
        #expect(LoopReadWatch.isSlow(elapsed: .microseconds(2_100), limit: limit, diskInput: true))
    }

    @Test func aReadFarPastTheLimitIsSlowWhateverTheReason() {
        #expect(LoopReadWatch.isSlow(elapsed: .microseconds(50_001), limit: limit, diskInput: false))
    }

    @Test func withoutTheThreadsInputTheLimitAloneDecides() {
        #expect(LoopReadWatch.isSlow(elapsed: .microseconds(2_100), limit: limit, diskInput: nil))
    }

    @Test func aZeroLimitSendsEveryLaterReadOffTheLoop() {
        #expect(LoopReadWatch.isSlow(elapsed: .zero, limit: .zero, diskInput: false))
    }

    @Test func theThreadsBlockInputIsKnownOnLinux() {
        #if os(Linux)
        #expect(LoopReadWatch.threadInputBlocks() != nil)
        #endif
        let watch = LoopReadWatch(limit: .seconds(10))
        #expect(!watch.wasSlow)
    }
}
