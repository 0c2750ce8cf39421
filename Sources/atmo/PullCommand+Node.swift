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
        let lost = Shared<LocalNodeClient.FollowLost?>(nil)
        let final: DownloadAPI.Status? = await withTaskGroup(of: DownloadAPI.Status?.self) { group in
            group.addTask {
                let lastState = Shared<DownloadAPI.State?>(nil)
                do {
                    // A stream the node supersedes or refuses, or a dropped connection, is
                    // followed again while the node still runs the download.
                    return try await node.followDownload(requestID) { status in
                        if status.state != lastState.value {
                            lastState.value = status.state
                            if status.paused == true {
                                bar.note(
                                    "\(TerminalText.clean(status.modelID)): paused for a more urgent download; it resumes from its pieces when a slot frees")
                            } else if let note = status.state.note(modelID: TerminalText.clean(status.modelID)) {
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
                } catch {
                    if !Task.isCancelled { lost.value = error as? LocalNodeClient.FollowLost ?? .init(reason: "\(error)") }
                    return nil
                }
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
        if final == nil, let why = lost.value {
            if let noNode = why.noNode {
                // The node stopped (or its node.json leads nowhere): it resumes the download when it runs again.
                Failure(
                    message: "lost the node while it downloaded \(modelID): \(noNode); start it again with `atmo serve` "
                        + "(it resumes the download), then `atmo pull \(modelID)` follows it again",
                    exitCode: ExitStatus.unreachable
                ).exit(json: json, code: "no_node")
            }
            Failure(
                message:
                    "lost the download's progress from the node (\(why)); it may still be downloading \(modelID) (see `atmo downloads`)",
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
                print(
                    "\(TerminalText.clean(final.modelID)): \(formatBytes(final.totalBytes)) verified and installed at "
                        + "\(TerminalText.clean(final.path ?? "?", limit: 4096)) (by the node)")
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
        return try await HTTPClient.withHTTPClient(configuration: LocalNodeClient.httpConfiguration(read: .seconds(10))) { http in
            let answer = try await http.exchange(request, timeout: .seconds(15), limit: maxAnswerBytes)
            guard (200..<300).contains(answer.status.code) else {
                throw LocalNodeError(status: Int(answer.status.code), body: Data(buffer: answer.body))
            }
            return try WireCoding.decode(T.self, from: Data(buffer: answer.body))
        }
    }
}
