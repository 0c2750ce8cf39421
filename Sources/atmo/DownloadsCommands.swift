import ArgumentParser
import AtmoProtocol
import AtmoTransfer
import Foundation

struct DownloadsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "downloads",
        abstract: "List, pause and resume the downloads of the running node.",
        discussion: """
            Downloads started with `atmo pull MODEL` (or `atmo pull org/name`) while a node runs belong to the node: \
            they go on when the command exits and resume when the node restarts. `atmo downloads` lists them \
            (with the last 100 that ended); `atmo downloads pause ID` stops one, keeping its partial, until \
            `atmo downloads resume ID` (also across restarts of the node).
            """,
        subcommands: [DownloadsListCommand.self, DownloadsPauseCommand.self, DownloadsResumeCommand.self],
        defaultSubcommand: DownloadsListCommand.self)
}

struct DownloadsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the downloads of the running node (under way, then the last 100 that ended).")

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
            var state = status.paused == true ? "paused" : status.state.columnText
            if status.pausedBy == .user { state = "paused (user)" }
            let size = status.totalBytes > 0 ? formatBytes(status.totalBytes) : "-"
            let files = status.filesTotal.map { " (\(status.filesDone ?? 0)/\($0) files)" } ?? ""
            return [
                status.modelID, state, status.priority?.rawValue ?? "-", percent + files, size, status.peer ?? "-",
                status.requestID, status.error ?? status.path ?? "",
            ]
        }
        printTable(header: ["MODEL", "STATE", "PRIORITY", "DONE", "SIZE", "PEER", "REQUEST", "DETAIL"], rows: rows)
    }
}

/// `atmo downloads pause ID`, `resume ID` and `atmo cancel ID`: `POST /v1/downloads/{id}/pause|resume`,
/// `DELETE /v1/downloads/{id}`.
struct DownloadControl {
    var store: StoreOptions
    var id: String
    var json: Bool

    /// `POST`s to the download's path + `suffix`, or `DELETE`s the download (`cancel`);
    /// prints the downloads it changed after `verb`.
    func send(_ suffix: String = "", done verb: String, cancel: Bool = false) async {
        let node = await LocalNodeClient.require(stateDirectory: store.nodeConfiguration().stateDirectory, json: json, alternative: "")
        // A repository is named org/name on the command line, org--name in the queue.
        let named = id.replacingOccurrences(of: "/", with: "--")
        let path = DownloadAPI.path + "/" + (named.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? named) + suffix
        do {
            let changed =
                cancel
                ? try await node.delete(path, as: DownloadAPI.StatusList.self)
                : try await node.post(path, [String: String](), as: DownloadAPI.StatusList.self)
            if json { printJSON(changed) } else { print("\(verb) \(changed.downloads.map(\.modelID).joined(separator: ", "))") }
        } catch let error as LocalNodeError where error.status == 404 {
            Failure(message: error.message, exitCode: ExitStatus.notFound).exit(json: json, code: "not_found")
        } catch {
            Failure(message: "the local node did not answer: \(error)", exitCode: ExitStatus.unreachable).exit(json: json, code: "no_node")
        }
    }
}

struct DownloadsPauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause a download of the running node (by model id, org/name or request id).",
        discussion:
            "The partial is kept; it stays paused, also across restarts of the node, until `atmo downloads resume`. Exit 4 when no such download is under way."
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: "A model id, a repository (org/name) or a request id (see `atmo downloads`).")
    var id: String

    @Flag(help: "Print the paused downloads as JSON.")
    var json = false

    func run() async throws { await DownloadControl(store: store, id: id, json: json).send(DownloadAPI.pauseSuffix, done: "paused") }
}

struct DownloadsResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Resume a paused download of the running node (by model id, org/name or request id).",
        discussion: "It goes on from its verified pieces. Exit 4 when no such download is under way.")

    @OptionGroup var store: StoreOptions

    @Argument(help: "A model id, a repository (org/name) or a request id (see `atmo downloads`).")
    var id: String

    @Flag(help: "Print the resumed downloads as JSON.")
    var json = false

    func run() async throws { await DownloadControl(store: store, id: id, json: json).send(DownloadAPI.resumeSuffix, done: "resumed") }
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

    func run() async throws { await DownloadControl(store: store, id: id, json: json).send(done: "cancelled", cancel: true) }
}

extension DownloadPriority: ExpressibleByArgument {}
