import ArgumentParser
import AtmoProtocol
import AtmoTransfer
import Foundation

struct DownloadsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "downloads",
        abstract: "List the downloads of the running node (queued, running and finished since it started).",
        discussion: "Downloads started with `atmo pull MODEL` while a node runs belong to the node: they go on when the command exits and resume when the node restarts.")

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print the downloads as JSON.")
    var json = false

    func run() async throws {
        let node = await LocalNodeClient.require(stateDirectory: store.nodeConfiguration().stateDirectory, json: json, alternative: "")
        let list = await node.getOrExit(DownloadAPI.path, as: DownloadAPI.StatusList.self, json: json)
        if json {
            printJSON(list)
            return
        }
        guard !list.downloads.isEmpty else {
            print("no downloads")
            return
        }
        let rows = list.downloads.map { status in
            let percent = status.totalBytes > 0 ? String(format: "%.0f%%", 100 * Double(status.bytesDone) / Double(status.totalBytes)) : "-"
            let state = status.paused == true ? "paused" : status.state.columnText
            return [
                status.modelID, state, status.priority?.rawValue ?? "-", percent, status.totalBytes > 0 ? formatBytes(status.totalBytes) : "-", status.peer ?? "-",
                status.requestID, status.error ?? status.path ?? "",
            ]
        }
        printTable(header: ["MODEL", "STATE", "PRIORITY", "DONE", "SIZE", "PEER", "REQUEST", "DETAIL"], rows: rows)
    }
}

struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Stop a download of the running node (by model id or request id).",
        discussion: "The partial file is kept: pulling the model again resumes it. Exit 4 when no such download is under way.")

    @OptionGroup var store: StoreOptions

    @Argument(help: "A model id or a request id (see `atmo downloads`).")
    var id: String

    @Flag(help: "Print the cancelled downloads as JSON.")
    var json = false

    func run() async throws {
        let node = await LocalNodeClient.require(stateDirectory: store.nodeConfiguration().stateDirectory, json: json, alternative: "")
        let path = DownloadAPI.path + "/" + (id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id)
        do {
            let cancelled = try await node.delete(path, as: DownloadAPI.StatusList.self)
            if json { printJSON(cancelled) } else { print("cancelled \(cancelled.downloads.map(\.modelID).joined(separator: ", "))") }
        } catch let error as LocalNodeError where error.status == 404 {
            Failure(message: error.message, exitCode: ExitStatus.notFound).exit(json: json, code: "not_found")
        } catch {
            Failure(message: "the local node did not answer: \(error)", exitCode: ExitStatus.unreachable).exit(json: json, code: "no_node")
        }
    }
}

extension DownloadPriority: ExpressibleByArgument {}
