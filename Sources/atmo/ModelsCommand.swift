import ArgumentParser
import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the models of the mesh (or of one peer with --from).",
        discussion: """
            Without --from, asks the node running on this state folder (`atmo serve`) for the \
            models every node of the mesh offers, with how many peers offer each and whether this \
            node has it. Filters combine: --type llm --format gguf --search qwen lists only GGUF \
            LLMs whose id, name or source contains 'qwen'.
            """)

    @OptionGroup var store: StoreOptions

    @Option(name: .customLong("from"), help: "List one peer's models: its base URL, e.g. http://192.168.1.20:\(HTTPAPI.defaultPort).")
    var peer: String?

    @Option(help: "Only this type: vision, llm, audio, embedding, unknown.")
    var type: String?

    @Option(help: "Only this format: gguf, safetensors, pt, onnx, tflite, ...")
    var format: String?

    @Option(help: "Only models with this capability (e.g. text_generation).")
    var capability: String?

    @Option(help: "Only models whose id, name or source contains this text (case-insensitive).")
    var search: String?

    @Flag(help: "Print the entries as JSON.")
    var json = false

    func run() async throws {
        guard let peer else { return await listMesh() }
        let logger = store.makeLogger(label: "atmo.models", defaultLevel: .warning)
        // One request: a refused connection is the answer, not something to retry for the
        // whole connect timeout.
        var http = PullEngine.httpConfiguration(PullConfiguration())
        http.connectionPool.retryConnectionEstablishment = false
        let result: Result<([ModelEntry], [RepositoryEntry]), TransferError> = try await HTTPClient.withHTTPClient(
            configuration: http
        ) { http in
            do throws(TransferError) {
                let client = PeerClient(baseURL: peer, http: http, logger: logger)
                return .success((try await client.catalog(), try await client.repositories()))
            } catch {
                return .failure(error)
            }
        }
        let entries: [ModelEntry]
        let repositories: [RepositoryEntry]
        switch result {
        case .success(let (list, offered)): (entries, repositories) = (list.filter(matches), offered.filter(matches))
        case .failure(let error):
            Failure(message: error.message, exitCode: error.exitCode).exit(json: json, code: error.code.description)
        }
        let installed = Set(LocalModelStore(directory: store.nodeConfiguration().modelsDirectory).installed().map(\.sha256))
        if json {
            printJSON(PeerListing(models: entries, repositories: repositories))
            return
        }
        guard !entries.isEmpty || !repositories.isEmpty else {
            print("no models match")
            return
        }
        let rows = entries.map { entry in
            [
                entry.modelID, entry.kind.rawValue, entry.format, "1", formatBytes(entry.sizeBytes),
                installed.contains(entry.sha256) ? "yes" : "",
            ]
        }
        let repositoryRows = repositories.map { repository in
            [
                repository.modelID, repository.kind.rawValue, repository.format, String(repository.files.count),
                formatBytes(repository.sizeBytes), "",
            ]
        }
        printTable(header: ["ID", "TYPE", "FORMAT", "FILES", "SIZE", "INSTALLED"], rows: (rows + repositoryRows).sorted { $0[0] < $1[0] })
    }

    /// The mesh's models as the local node knows them.
    func listMesh() async {
        let node = await LocalNodeClient.require(
            stateDirectory: store.nodeConfiguration().stateDirectory, json: json, alternative: ", or list one peer with --from URL")
        let list = await node.getOrExit(
            MeshAPI.modelsPath, query: [("search", search), ("type", type), ("format", format), ("capability", capability)],
            as: MeshAPI.ModelList.self, json: json)
        let repositories = await meshRepositories(node)
        if json {
            printJSON(MeshListing(models: list.models, repositories: repositories))
            return
        }
        guard !list.models.isEmpty || !repositories.isEmpty else {
            print(search == nil && type == nil && format == nil && capability == nil ? "the mesh offers no models yet" : "no models match")
            return
        }
        let rows = list.models.map { model in
            let entry = model.entry
            // Nodes still pulling it serve the pieces they hold: counted, marked "partial".
            let partial = model.providers.filter(\.isPartial).count
            let peers = String(model.providers.count) + (partial == 0 ? "" : " (\(partial) partial)")
            return [
                entry.modelID, entry.name, entry.kind.rawValue, entry.format, "1", formatBytes(entry.sizeBytes), peers,
                model.installed ? "yes" : "",
            ]
        }
        printTable(
            header: ["ID", "NAME", "TYPE", "FORMAT", "FILES", "SIZE", "PEERS", "INSTALLED"],
            rows: (rows + repositories.map(Self.row)).sorted { $0[0] < $1[0] })
        await UpdateCommand.printWaiting(node)
    }

    func matches(_ entry: ModelEntry) -> Bool {
        if let type, entry.kind.rawValue != type.lowercased() { return false }
        if let format, entry.format != format.lowercased() { return false }
        if let capability, !entry.capabilities.contains(capability) { return false }
        if let search {
            let text = search.lowercased()
            let haystack = [entry.modelID, entry.name, entry.sourceRef, entry.baseModel ?? ""].joined(separator: " ").lowercased()
            if !haystack.contains(text) { return false }
        }
        return true
    }
}

/// Prints `rows` under `header` in aligned columns; every cell as text (`TerminalText`, at
/// most 1024 characters): cells hold names and addresses other nodes chose.
func printTable(header: [String], rows: [[String]]) {
    let all = ([header] + rows).map { $0.map { TerminalText.clean($0, limit: 1024) } }
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    for row in all {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}
