import AsyncHTTPClient
import AtmoProtocol
import Foundation
import NIOCore

/// When `atmo pull` follows a download of the running node and its event stream ends
/// before the download did (the node superseded it, `event: closed` `stream_superseded`;
/// refused it, 503 `too_many_streams`; or the connection dropped): whether to follow
/// again and after how long. Pure: no sockets, no clock.
struct DownloadFollowRetry: Sendable {
    /// Streams in a row that may end without a status of the download and be followed
    /// again: the next one to end (`maxFailures + 1` in a row) gives up, and the give-up
    /// says that count (`failures`).
    static let maxFailures = 8
    /// The first wait; each failure in a row doubles it, up to `maxDelay`.
    static let firstDelay = Duration.milliseconds(250)
    static let maxDelay = Duration.seconds(4)
    /// Moves (`node.json` naming a new address of the node) one pull follows; a status on the
    /// stream does not give them back, so addresses that point at each other end the follow.
    static let maxMoves = 8
    /// The wait before asking a node at its new address.
    static let moveDelay = Duration.milliseconds(100)

    enum Action: Sendable, Hashable {
        case reconnect(after: Duration)
        case giveUp
    }

    /// Streams ended in a row since one brought a status of the download.
    private(set) var failures = 0

    /// Moves to a new address of the node during this follow.
    private(set) var moves = 0

    /// A stream brought a status of the download: the next end starts the count over.
    mutating func heard() { failures = 0 }

    /// `node.json` named a new address of the node: follow it there after `moveDelay`, or give
    /// up after `maxMoves`.
    mutating func moved() -> Action {
        moves += 1
        return moves <= Self.maxMoves ? .reconnect(after: Self.moveDelay) : .giveUp
    }

    /// A stream ended (or could not open) while the node still lists the download unfinished,
    /// or while the node did not answer at all.
    mutating func ended() -> Action {
        failures += 1
        guard failures <= Self.maxFailures else { return .giveUp }
        var delay = Self.firstDelay
        for _ in 1..<failures { delay = min(delay * 2, Self.maxDelay) }
        return .reconnect(after: delay)
    }
}

extension LocalNodeClient {
    /// How one `/v1/downloads/events` stream ended.
    enum FollowEnd: Sendable {
        /// `handle` returned true for this status.
        case handled(DownloadAPI.Status)
        /// The stream ended (or failed to open) first; `heard` says whether it brought a
        /// status of the download.
        case ended(heard: Bool, why: String)
    }

    /// Follows the download `requestID` of the node: hands each of its statuses to
    /// `handle` until it returns true (then returns that status). A stream that ends first
    /// is opened again (`DownloadFollowRetry`) as long as the node lists the download
    /// unfinished; the new stream starts with its status now. A final status the node
    /// lists meanwhile ends the follow. When nothing answers at the node's address (or
    /// something that does not know the download), `node.json` is read again: a node
    /// restarted on another port is followed there. Throws `FollowLost` once the retries
    /// are spent.
    func followDownload(_ requestID: String, handle: @Sendable (DownloadAPI.Status) -> Bool) async throws -> DownloadAPI.Status {
        var node = self
        var retry = DownloadFollowRetry()
        // Why node.json led to no node, the last time it was read after the node stopped answering.
        var noNode: String? = nil
        while true {
            let end = await node.followStream { status in
                guard status.requestID == requestID else { return false }
                return handle(status)
            } isOurs: {
                $0.requestID == requestID
            }
            try Task.checkCancellation()
            let why: String
            switch end {
            case .handled(let status): return status
            case .ended(let heard, let reason):
                if heard { retry.heard() }
                why = reason
            }
            // The node's list says whether the download still runs (one that ended while no
            // stream was open ends the follow here).
            var moved = false
            if let listed = try? await node.get(DownloadAPI.path, as: DownloadAPI.StatusList.self) {
                noNode = nil
                if let status = listed.downloads.first(where: { $0.requestID == requestID }) {
                    if status.isFinal, handle(status) { return status }
                } else if case .found(let other) = await node.lookUpAgain(), other.file.baseURL != node.file.baseURL,
                    other.file.nodeID == node.file.nodeID
                {
                    // Another process took the address of a node that restarted elsewhere.
                    (node, moved) = (other, true)
                } else {
                    throw FollowLost(reason: "the node no longer lists the download (\(why))")
                }
            } else {
                switch await node.lookUpAgain() {
                case .found(let other) where other.file.nodeID == node.file.nodeID:
                    moved = other.file.baseURL != node.file.baseURL
                    (node, noNode) = (other, nil)
                case .found(let other): noNode = "\(Self.shown(other.file.baseURL)) is another node"
                case .none(let reason): noNode = reason
                }
            }
            try Task.checkCancellation()
            // A node found at a new address is asked soon; the moves have their own budget,
            // which no status on a stream gives back: a file that keeps moving cannot hold the follower.
            if moved, case .giveUp = retry.moved() {
                throw FollowLost(reason: "node.json named a new address of the node \(retry.moves) times during this pull (last: \(why))")
            }
            switch retry.ended() {
            case .reconnect(let delay): try await Task.sleep(for: moved ? DownloadFollowRetry.moveDelay : delay)
            case .giveUp:
                throw FollowLost(
                    reason: "its event stream ended \(retry.failures) times in a row (last: \(why))", noNode: noNode)
            }
        }
    }

    /// The follow gave up: the node may still run the download.
    struct FollowLost: Error, CustomStringConvertible {
        var reason: String
        /// Set when, at the end, nothing answered at the node's address and `node.json` led to
        /// no node either: why (the node stopped, or the file is stale or not a node's).
        var noNode: String? = nil
        var description: String { noNode.map { "\(reason); \($0)" } ?? reason }
    }

    /// Reads one `/v1/downloads/events` stream: each status goes to `handle` until it
    /// returns true. Never throws: an error ends the stream.
    private func followStream(
        _ handle: @Sendable (DownloadAPI.Status) -> Bool, isOurs: @Sendable (DownloadAPI.Status) -> Bool
    ) async -> FollowEnd {
        // Keep-alive comments come every 15 s: a minute of silence is a dead stream.
        var configuration = Self.httpConfiguration(read: .seconds(60))
        configuration.connectionPool.retryConnectionEstablishment = false
        var heard = false
        var event = ""
        do {
            return try await HTTPClient.withHTTPClient(configuration: configuration) { http in
                let response = try await http.execute(
                    HTTPClientRequest(url: file.baseURL + DownloadAPI.eventsPath), timeout: .hours(24 * 365))
                guard response.status == .ok else {
                    let body = try? await response.body.collect(upTo: 64 * 1024)
                    let error = LocalNodeError(status: Int(response.status.code), body: body.map { Data(buffer: $0) } ?? Data())
                    return .ended(heard: false, why: "HTTP \(response.status.code) \(Self.shown(error.code ?? error.message))")
                }
                var lines = EventStreamLines()
                let (eventField, dataField) = (Array("event: ".utf8), Array("data: ".utf8))
                for try await chunk in response.body {
                    lines.append(chunk.readableBytesView)
                    while let line = lines.next() {
                        if line.isEmpty { continue }  // the end of an event (or a flood of them)
                        if line.starts(with: eventField) {
                            event = String(decoding: line.dropFirst(eventField.count), as: UTF8.self)
                            continue
                        }
                        guard line.starts(with: dataField) else { continue }
                        let data = Data(line.dropFirst(dataField.count))
                        if event == "closed" {
                            let closed = try? WireCoding.decode(NodeAPI.StreamClosed.self, from: data)
                            return .ended(heard: heard, why: "the node closed the stream: \(Self.shown(closed?.code ?? "closed"))")
                        }
                        guard let status = try? WireCoding.decode(DownloadAPI.Status.self, from: data) else { continue }
                        if isOurs(status) { heard = true }
                        if handle(status) { return .handled(status) }
                    }
                }
                return .ended(heard: heard, why: "the node ended the stream")
            }
        } catch {
            return .ended(heard: heard, why: Self.shown("\(error)"))
        }
    }
}
