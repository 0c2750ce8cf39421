import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

/// A file open for serving byte ranges (an HTTP body through `FileBodyPump`, or a relayed
/// transfer): an installed model (`OpenModelFile`) or the partial file of a pull
/// (`OpenPartialFile`). Each says after every read whether the bytes read may still be sent.
protocol ServedFile: AnyObject, Sendable {
    var fd: Int32 { get }
    var path: String { get }
    /// Whether the bytes read so far are still the ones promised when the file was opened:
    /// checked after every read; false ends the transfer early (never wrong bytes).
    var isUnchanged: Bool { get }
    /// Exactly `length` bytes at `offset`, checked (blocking: call on a file thread).
    func read(offset: Int64, length: Int64) throws -> Data
    /// Whether its bytes may go out as file regions (`sendfile`), read by the kernel after
    /// the last check: only where a check after the fact still proves them (`FileBodyPump`).
    var servesRegions: Bool { get }
}

/// A complete file's change check is its stat as hashed: a check after a region was sent
/// still tells whether anything changed before it.
extension OpenModelFile: ServedFile {
    var servesRegions: Bool { true }
}

/// Why bytes of a partial file cannot be served: the range touches pieces not held yet
/// (`notHeld`, with their indices), or the offer ended (the pull installed the file or
/// stopped) before or while it was read.
struct PartialRefusal: Error, CustomStringConvertible {
    enum Kind: Sendable { case notHeld, gone }
    let kind: Kind
    let message: String
    var description: String { message }
}

/// The partial file of a pull, open to serve one byte range of verified pieces.
///
/// The pull writes the file while it is read, so the change check of `OpenModelFile` (the
/// file's stat as hashed) cannot apply. What is checked instead: every piece the range
/// touches was held (written and verified) in the offer found when the file was opened, and
/// that very offer still lived after the open and after each read
/// (`PartialOffers.isCurrent(sha256:serial:)`). A held piece never becomes un-held while its
/// offer lives, and its bytes are not written again, so a read that the offer's life
/// brackets read verified bytes. When that offer ends (its pull installs the file or
/// stops) or is begun anew (the same file pulled again, its partial maybe rewritten), the
/// read fails and the transfer ends early: the consumer asks again, and meets the installed
/// file or a `not_held`. Offers of other files beginning or ending change nothing here.
final class OpenPartialFile: ServedFile {
    let fd: Int32
    let path: String
    let offers: PartialOffers
    /// The file, and the offer whose held pieces the range was checked against.
    let sha256: String
    let serial: UInt64
    /// The bytes that may be read, `[start, end)`.
    let start: Int64
    let end: Int64

    /// Opens the partial file of `offer.entry.sha256` for bytes `[offset, offset + length)`;
    /// throws `PartialRefusal` when a piece of the range is not held or the offer ended.
    init(offers: PartialOffers, sha256: String, offset: Int64, length: Int64) throws {
        guard let offer = offers.offer(sha256: sha256) else {
            throw PartialRefusal(kind: .gone, message: "this node is no longer downloading \(sha256); ask again shortly")
        }
        guard offer.holds(offset: offset, length: length) else {
            throw PartialRefusal(kind: .notHeld, message: Self.missingMessage(offer, offset: offset, length: length))
        }
        let fd = try FileIO.open(offer.partialPath, flags: O_RDONLY)
        guard offers.isCurrent(sha256: offer.entry.sha256, serial: offer.serial) else {
            FileIO.close(fd)
            throw PartialRefusal(kind: .gone, message: "this node's download of \(offer.entry.modelID) just ended; ask again")
        }
        self.fd = fd
        self.path = offer.partialPath
        self.offers = offers
        self.sha256 = offer.entry.sha256
        serial = offer.serial
        start = offset
        end = offset + max(length, 0)
    }

    deinit { FileIO.close(fd) }

    var isUnchanged: Bool { offers.isCurrent(sha256: sha256, serial: serial) }

    /// A partial's check brackets each read (its offer lived before and after), which a
    /// region read later by the kernel would escape: its chunks are read and written.
    var servesRegions: Bool { false }

    func read(offset: Int64, length: Int64) throws -> Data {
        guard offset >= start, length >= 0, length <= end - offset else {
            throw PartialRefusal(kind: .notHeld, message: "bytes \(offset)..<\(offset + length) are outside the range opened")
        }
        var data = Data(count: Int(length))
        let got = try data.withUnsafeMutableBytes { raw throws(StoreError) in
            try FileIO.pread(fd, into: raw, offset: offset, path: path)
        }
        guard isUnchanged else {
            throw PartialRefusal(kind: .gone, message: "this node's download of the file ended while it was served; ask again")
        }
        guard got == Int(length) else { throw StoreError(.corrupt, "\(path) is shorter than its held pieces") }
        return data
    }

    /// The most runs of missing pieces a refusal names.
    static let maxNamedRuns = 8

    /// "pieces 3-5, 9 of 12 (1 MiB each) are not held yet", naming the first runs of the
    /// pieces of the range this node lacks.
    static func missingMessage(_ offer: PartialOffers.Offer, offset: Int64, length: Int64) -> String {
        let size = offer.entry.sizeBytes
        let pieceSize = offer.manifest.pieceSize
        guard length > 0, offset >= 0, offset < size, length <= size - offset, pieceSize > 0 else {
            return "bytes \(offset)..<\(offset &+ length) are outside the file (\(size) bytes)"
        }
        let first = Int(offset / pieceSize)
        let last = Int((offset + length - 1) / pieceSize)
        var runs: [ClosedRange<Int>] = []
        var more = false
        for index in first...last where !offer.held[index] {
            if let run = runs.last, run.upperBound == index - 1 {
                runs[runs.count - 1] = run.lowerBound...index
            } else if runs.count == maxNamedRuns {
                more = true
                break
            } else {
                runs.append(index...index)
            }
        }
        let named = runs.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ", ")
        return "this node is still downloading \(offer.entry.modelID): pieces \(named)\(more ? ", ..." : "") of "
            + "\(offer.manifest.pieceCount) (\(pieceSize) bytes each) are not held yet; ask again later or another peer"
    }
}

extension PartialOffers {
    /// The offer that answers a request for `modelID`, when the inventory does not: a
    /// request naming a version (`wanted`, a `model_request`'s `sha256` or an `If-Range`
    /// ETag) gets the offer of that version when the inventory holds another one; one
    /// naming none gets an offer only when the inventory has no file of that id. With no
    /// file and no live offer, an offer that ended moments ago (`justEnded`): reading it is
    /// refused, so the request is answered "not held yet" rather than "not offered" while
    /// the inventory catches up with the file the pull installed.
    func offerToServe(modelID: String, wanted: String?, inventorySHA256: String?) -> Offer? {
        if let wanted = wanted?.lowercased() {
            if wanted == inventorySHA256 { return nil }
            if let offer = offer(sha256: wanted), offer.entry.modelID == modelID { return offer }
        }
        guard inventorySHA256 == nil else { return nil }
        return offer(modelID: modelID) ?? justEnded(modelID: modelID)
    }
}
