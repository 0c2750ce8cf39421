import ArgumentParser
import AtmoStore
import Foundation

/// `atmo hash FILE` (hidden): the first hash of a file as the inventory computes it, the
/// whole-file SHA-256 and the piece manifest in one read, with the wall time it took.
/// bench/first-hash.sh runs it beside `openssl dgst -sha256`.
struct HashCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash",
        abstract: "Hash a file with its piece manifest (benchmarks).",
        shouldDisplay: false
    )

    @Argument(help: "The file to hash.")
    var file: String

    @Option(help: "Piece size in bytes (default: the node's rule for the file's size).")
    var pieceSize: Int64?

    @Flag(help: "Only the whole-file SHA-256, no manifest (the hash before piece manifests).")
    var plain = false

    func run() throws {
        let start = ContinuousClock.now
        if plain {
            let sha256 = try FileHasher.sha256(path: file)
            print("sha256 \(sha256) seconds \(seconds(since: start))")
            return
        }
        let (sha256, manifest) = try FileHasher.hashWithManifest(path: file, pieceSize: pieceSize)
        let elapsed = seconds(since: start)
        print(
            "sha256 \(sha256) piece_size \(manifest.pieceSize) pieces \(manifest.pieceCount) pieces_sha256 \(manifest.manifestSHA256) seconds \(elapsed)"
        )
    }

    private func seconds(since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        let value = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return String(format: "%.3f", value)
    }
}
