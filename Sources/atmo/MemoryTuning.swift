import CAtmoSystem
import Foundation

/// Keeps the process's memory flat while it streams large files.
///
/// glibc raises its mmap threshold every time a large buffer is freed, after which transfer
/// buffers come from per-thread heap arenas that keep freed memory: with 8 concurrent
/// downloads `atmo serve` peaked at 370-650 MiB. Fewer arenas and a fixed mmap threshold
/// keep the peak near what is really in use. The price: every 1 MiB read chunk is its own
/// mmap (page faults per 4 KiB), which cuts single-download serving speed on loopback from
/// ~1.8 to ~0.6 GB/s; a 2 MiB threshold keeps the speed but lets 8 downloads reach ~440 MiB.
/// Memory is the default; the real fix (a fixed set of reused chunk buffers per download) is
/// open, see docs/BENCHMARKS.md.
/// `ATMO_MALLOC_MMAP_THRESHOLD` and `ATMO_MALLOC_ARENAS` override the defaults; see
/// docs/BENCHMARKS.md for the measurements. A no-op on other C libraries.
enum MemoryTuning {
    static let defaultMmapThreshold: Int32 = 256 * 1024
    static let defaultArenas: Int32 = 2

    static func apply(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let threshold = environment["ATMO_MALLOC_MMAP_THRESHOLD"].flatMap { Int32($0) } ?? defaultMmapThreshold
        let arenas = environment["ATMO_MALLOC_ARENAS"].flatMap { Int32($0) } ?? defaultArenas
        guard threshold > 0, arenas > 0 else { return }
        _ = atmo_tune_malloc(threshold, arenas)
    }
}
