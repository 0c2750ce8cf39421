import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import NIOCore
import Synchronization

/// The bytes of a file this node is fetching from the mesh (`HubMeshFetch`), for a client of
/// the Hub endpoint, as they become trustworthy:
/// - while the pull offers the file (`PartialOffers`: a swarm pull, which checks every piece
///   against the file's manifest), the held pieces from the read position on, in file order,
///   read from the pull's partial; asking for the offer also makes a pull from one source
///   check its pieces as they arrive (`PartialOffers.wasAsked`);
/// - once the fetch succeeded (the whole-file SHA-256 checked, the file installed), the
///   installed file, after checking that the bytes already sent from the partial are its
///   bytes (the same inode, else compared): a partial checked against a manifest that
///   turned out wrong never gets a good tail;
/// - the file's last `holdBack` bytes only then, so a client never holds a complete-looking
///   file before the whole-file check; a fetch that fails fails the body (cut short).
/// A pull without a manifest (no offer) gives nothing until its end. One body uses it, one
/// call at a time.
final class HubMeshStreamSource: HubStreamSource {
    let offers: PartialOffers
    let fetch: HubMeshFetch.Running
    let sha256: String
    let size: Int64
    let io: BlockingIO

    /// Bytes held back until the fetch succeeded (as the upstream mirror's).
    static var holdBack: Int64 { HubUpstreamAttempt.holdBack }

    private struct Opened: Sendable {
        var fd: Int32
        var path: String
        /// The offer whose held pieces this partial's bytes are read by (nil: installed).
        var serial: UInt64?
    }
    private struct State {
        var partial: Opened?
        var installed: Opened?
        /// Bytes read from the partial and handed out, `[sentFrom, sentTo)`.
        var sentFrom: Int64 = .max
        var sentTo: Int64 = 0
        var sentAny: Bool { sentTo > sentFrom }
    }
    private let state = Mutex(State())

    init(offers: PartialOffers, fetch: HubMeshFetch.Running, sha256: String, size: Int64, io: BlockingIO) {
        self.offers = offers
        self.fetch = fetch
        self.sha256 = sha256
        self.size = size
        self.io = io
    }

    func window(from position: Int64) async throws -> HubStreamWindow {
        let activity = fetch.bytesReceived
        if state.withLock({ $0.installed != nil }) { return HubStreamWindow(readable: size, activity: activity) }
        switch fetch.outcome {
        case .failure(let error):
            throw HubMeshStreamError("fetching the file from the mesh failed: \(error)")
        case .success(let location):
            try await io.run { try self.switchToInstalled(location) }
            return HubStreamWindow(readable: size, activity: activity)
        case nil:
            break
        }
        guard let offer = offers.offer(sha256: sha256) else { return HubStreamWindow(readable: position, activity: activity) }
        let (opened, sentAny) = state.withLock { ($0.partial, $0.sentAny) }
        if opened?.serial != offer.serial {
            // Another pull of the file began: the bytes sent came from a partial it may rewrite.
            if sentAny { throw HubMeshStreamError("the pull of the file began anew while it was streamed") }
            // Not opened: the pull ended meanwhile (its partial is the installed file now):
            // nothing to read until the next window says where the bytes are.
            guard try await io.run({ try self.open(offer) }) else { return HubStreamWindow(readable: position, activity: activity) }
        }
        return HubStreamWindow(readable: min(Self.heldRun(offer, from: position), size - Self.holdBack), activity: activity)
    }

    /// The end of the run of held pieces that starts with the piece at `position` (the
    /// position itself when that piece is not held).
    static func heldRun(_ offer: PartialOffers.Offer, from position: Int64) -> Int64 {
        let pieceSize = offer.manifest.pieceSize
        guard pieceSize > 0, position >= 0 else { return position }
        var piece = Int(position / pieceSize)
        while piece < offer.held.count, offer.held[piece] { piece += 1 }
        return max(position, min(offer.entry.sizeBytes, Int64(piece) * pieceSize))
    }

    func read(offset: Int64, count: Int) throws -> ByteBuffer? {
        let (partial, installed) = state.withLock { ($0.partial, $0.installed) }
        if let installed { return try HubStreamedFile.pread(installed.fd, offset: offset, count: count, path: installed.path) }
        guard let partial, let serial = partial.serial else { return nil }
        let bytes = try HubStreamedFile.pread(partial.fd, offset: offset, count: count, path: partial.path)
        // Held pieces stay held and unwritten while their offer lives: read within its life.
        guard offers.isCurrent(sha256: sha256, serial: serial) else { return nil }
        state.withLock { state in
            state.sentFrom = min(state.sentFrom, offset)
            state.sentTo = max(state.sentTo, offset + Int64(bytes.readableBytes))
        }
        return bytes
    }

    func close() {
        let (partial, installed) = state.withLock { state -> (Opened?, Opened?) in
            defer { (state.partial, state.installed) = (nil, nil) }
            return (state.partial, state.installed)
        }
        if let partial { FileIO.close(partial.fd) }
        if let installed { FileIO.close(installed.fd) }
    }

    /// Opens the partial of `offer` (blocking), in place of the one open (nothing was sent
    /// from it); false, leaving it unopened, when the offer ended meanwhile or its partial
    /// is gone. A pull that succeeds renames its partial to the installed file before its
    /// offer ends, so a missing partial is that moment (or a pull failing, whose outcome
    /// the next window reports), never a failure of the body: under load the offer seen
    /// by the request's wait was often gone by the body's first read, and the client got a
    /// `200` cut before its first byte.
    private func open(_ offer: PartialOffers.Offer) throws -> Bool {
        guard let fd = try Self.openIfPresent(offer.partialPath) else { return false }
        guard offers.isCurrent(sha256: sha256, serial: offer.serial) else {
            FileIO.close(fd)
            return false
        }
        let replaced = state.withLock { state -> Opened? in
            defer { state.partial = Opened(fd: fd, path: offer.partialPath, serial: offer.serial) }
            return state.partial
        }
        if let replaced { FileIO.close(replaced.fd) }
        return true
    }

    /// `path` opened for reading; nil when there is no such file.
    static func openIfPresent(_ path: String) throws -> Int32? {
        do {
            return try FileIO.open(path, flags: O_RDONLY)
        } catch {
            if error.code == .notFound { return nil }
            throw error
        }
    }

    /// Opens the installed file (blocking), checks its size and that the bytes sent from the
    /// partial are its bytes, and reads on from it.
    private func switchToInstalled(_ location: String) throws {
        let fd = try FileIO.open(location, flags: O_RDONLY)
        do {
            let stat = try FileIO.fstat(fd)
            guard stat.size == size else {
                throw HubMeshStreamError("the installed file has \(stat.size) bytes, not \(size)")
            }
            let (partial, from, to) = state.withLock { ($0.partial, $0.sentFrom, $0.sentTo) }
            if let partial, to > from {
                let before = try FileIO.fstat(partial.fd)
                if (before.device, before.inode) != (stat.device, stat.inode) {
                    try Self.compare(partial.fd, fd, from: from, to: to, path: location)
                }
            }
        } catch {
            FileIO.close(fd)
            throw error
        }
        let partial = state.withLock { state -> Opened? in
            defer { (state.partial, state.installed) = (nil, Opened(fd: fd, path: location, serial: nil)) }
            return state.partial
        }
        if let partial { FileIO.close(partial.fd) }
    }

    /// Throws unless bytes `[from, to)` of two files are the same.
    static func compare(_ first: Int32, _ second: Int32, from: Int64, to: Int64, path: String) throws {
        var position = from
        while position < to {
            let count = Int(min(1 << 20, to - position))
            let a = try HubStreamedFile.pread(first, offset: position, count: count, path: "partial")
            let b = try HubStreamedFile.pread(second, offset: position, count: count, path: path)
            guard a == b, a.readableBytes == count else {
                throw HubMeshStreamError("bytes already sent differ from the file installed (checked against a wrong manifest)")
            }
            position += Int64(count)
        }
    }
}

/// A mesh fetch streamed to a client failed, or what was sent cannot be vouched for.
struct HubMeshStreamError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
