import AsyncHTTPClient
import AtmoNode
import AtmoProtocol
import AtmoTransfer
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import UnixSignals

extension PullCommand {
    /// The pull as a download of the running node: started there, then followed (live
    /// progress from its event stream) until it ends. Ctrl-C detaches: the node goes on.
    /// `completed` replaces the report of a completed download (`--into llamafarm`).
    func pullThroughNode(_ node: LocalNodeClient, completed: ((DownloadAPI.Status) -> Never)? = nil) async -> Never {
        let requestID: String
        do {
            requestID = try await node.post(
                DownloadAPI.path, DownloadAPI.Start(modelID: modelID, sha256: expectedSHA256, from: peer, priority: priority), as: DownloadAPI.Started.self
            ).requestID
        } catch {
            Failure(error, context: "the local node refused the download").exit(json: json, code: "node_refused")
        }
        if detach {
            if json { printJSON(DownloadAPI.Started(requestID: requestID)) } else {
                print("downloading \(modelID) in the node (request \(requestID)); `atmo downloads` shows it, `atmo cancel \(modelID)` stops it")
            }
            Foundation.exit(ExitStatus.success)
        }
        let bar = ProgressBar(isTerminal: !json && isatty(STDERR_FILENO) == 1)
        let json = self.json
        let lostNode = Shared(false)
        let final: DownloadAPI.Status? = await withTaskGroup(of: DownloadAPI.Status?.self) { group in
            group.addTask {
                let lastState = Shared<DownloadAPI.State?>(nil)
                let ended = try? await node.followDownloads { status in
                    guard status.requestID == requestID else { return false }
                    if status.state != lastState.value {
                        lastState.value = status.state
                        if status.paused == true {
                            bar.note("\(status.modelID): paused for a more urgent download; it resumes from its pieces when a slot frees")
                        } else if let note = status.state.note(modelID: status.modelID) {
                            bar.note(note)
                        }
                    }
                    // Before the entry is known (queued, preparing) there is no bar to show.
                    guard status.totalBytes > 0 || status.isFinal else { return false }
                    bar.update(Self.progress(of: status)) { shown in
                        if json && !status.isFinal { printJSON(shown.message) }
                    }
                    return status.isFinal
                }
                if ended == nil, !Task.isCancelled { lostNode.value = true }
                return ended
            }
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) { return nil }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        bar.finish()
        if final == nil, lostNode.value {
            Failure(
                message: "lost the connection to the node; it may still be downloading \(modelID) (see `atmo downloads`)",
                exitCode: ExitStatus.unreachable
            ).exit(json: json, code: "no_node")
        }
        guard let final else {
            Failure(
                message: "detached: the node keeps downloading \(modelID); `atmo pull \(modelID)` follows it again, "
                    + "`atmo cancel \(modelID)` stops it", exitCode: ExitStatus.interrupted
            ).exit(json: json, code: "detached")
        }
        switch final.state {
        case .completed:
            if let completed { completed(final) }
            if json {
                printJSON(
                    PullSummary(
                        modelID: final.modelID, path: final.path ?? "", sha256: final.sha256 ?? "", sizeBytes: final.totalBytes,
                        bytesTransferred: final.bytesTransferred ?? 0, resumedBytes: final.resumedBytes ?? 0,
                        alreadyInstalled: final.bytesTransferred == 0, seconds: final.seconds ?? 0))
            } else {
                print("\(final.modelID): \(formatBytes(final.totalBytes)) verified and installed at \(final.path ?? "?") (by the node)")
            }
            Foundation.exit(ExitStatus.success)
        case .cancelled:
            Failure(message: "the download of \(modelID) was cancelled", exitCode: ExitStatus.interrupted)
                .exit(json: json, code: "cancelled")
        default:
            let code = final.errorCode.flatMap(TransferError.Code.init(description:)) ?? .localError
            Failure(message: final.error ?? "the download failed", exitCode: ErrorMapping.exitCode(for: code))
                .exit(json: json, code: code.description)
        }
    }

    /// A node's status as a progress report for the bar and `--json` lines.
    static func progress(of status: DownloadAPI.Status) -> PullProgress {
        let phase = status.state.pullPhase
        return PullProgress(
            requestID: status.requestID, modelID: status.modelID, phase: phase, bytesDone: status.bytesDone,
            totalBytes: status.totalBytes, bytesPerSecond: status.bytesPerSecond, etaSeconds: status.etaSeconds, peer: status.peer ?? "")
    }
}

extension LocalNodeClient {
    func post<Body: Encodable, T: Decodable>(_ path: String, _ body: Body, as type: T.Type) async throws -> T {
        try await send(.POST, path, body: try WireCoding.encode(body), as: T.self)
    }

    func delete<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        try await send(.DELETE, path, body: nil, as: T.self)
    }

    /// `method path` with `body` as JSON (if any); the answer (at most `maxAnswerBytes`)
    /// decoded as `T`, or the node's error.
    func send<T: Decodable>(
        _ method: HTTPMethod, _ path: String, body: Data?, as type: T.Type, maxAnswerBytes: Int = 16 * 1024 * 1024
    ) async throws -> T {
        var request = HTTPClientRequest(url: file.baseURL + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(2), read: .seconds(10))
        return try await HTTPClient.withHTTPClient(configuration: configuration) { http in
            let answer = try await http.exchange(request, timeout: .seconds(15), limit: maxAnswerBytes)
            guard (200..<300).contains(answer.status.code) else {
                throw LocalNodeError(status: Int(answer.status.code), body: Data(buffer: answer.body))
            }
            return try WireCoding.decode(T.self, from: Data(buffer: answer.body))
        }
    }

    /// Reads the node's download events and hands each status to `handle` until it returns
    /// true (then returns that status) or the stream ends (nil).
    func followDownloads(_ handle: @Sendable (DownloadAPI.Status) -> Bool) async throws -> DownloadAPI.Status? {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(2), read: .seconds(60))
        return try await HTTPClient.withHTTPClient(configuration: configuration) { http in
            let response = try await http.execute(HTTPClientRequest(url: file.baseURL + DownloadAPI.eventsPath), timeout: .hours(24 * 365))
            guard response.status == .ok else { throw LocalNodeError(status: Int(response.status.code), message: "\(response.status)") }
            // Bytes, split into lines only at '\n', so a character cut between two chunks
            // is decoded whole.
            var pending: [UInt8] = []
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[..<newline]
                    pending.removeSubrange(...newline)
                    guard line.starts(with: Array("data: ".utf8)) else { continue }
                    guard let status = try? WireCoding.decode(DownloadAPI.Status.self, from: Data(line.dropFirst(6))) else { continue }
                    if handle(status) { return status }
                }
                if pending.count > 1 << 20 { pending.removeAll() }  // a line that never ends is not ours
            }
            return nil
        }
    }
}
