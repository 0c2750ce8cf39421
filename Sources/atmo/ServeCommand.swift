import ArgumentParser
import AtmoNode
import AtmoProtocol
import AtmoStore
import Foundation

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the node: scan local models and serve them over HTTP.",
        discussion: """
            Scans ~/.llamafarm/models, the Hugging Face hub cache ($HF_HUB_CACHE, $HF_HOME/hub or \
            ~/.cache/huggingface/hub), every --folder and the node's own pulled models; hashes each \
            file once (remembered in <state-dir>/atmo.sqlite) and serves the hashed ones at \
            http://HOST:PORT/v1/models. Rescans every --rescan-interval seconds. Stops cleanly on \
            Ctrl-C or SIGTERM.
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "Address to listen on.")
    var host = "0.0.0.0"

    @Option(help: "Port to listen on (0: any free port).")
    var port = HTTPAPI.defaultPort

    @Option(name: .customLong("folder"), help: "An extra folder of model files to offer (repeatable).")
    var folders: [String] = []

    @Flag(name: .customLong("no-huggingface"), help: "Do not offer the Hugging Face cache.")
    var noHuggingFace = false

    @Flag(name: .customLong("no-llamafarm"), help: "Do not offer LlamaFarm's models.")
    var noLlamaFarm = false

    @Option(help: "Name shown to peers (default: the host name).")
    var name: String?

    @Option(name: .customLong("rescan-interval"), help: "Seconds between rescans of the model folders.")
    var rescanInterval: Double = 30

    @Option(name: .customLong("port-file"), help: "Write the bound port to this file once serving (for scripts using --port 0).")
    var portFile: String?

    func run() async throws {
        var configuration = store.nodeConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.rescanIntervalSeconds = max(0.5, rescanInterval)
        if let name { configuration.nodeName = name }
        configuration.scanRoots.extraFolders += folders.map { URL(fileURLWithPath: absolute($0)) }
        if noHuggingFace { configuration.scanRoots.huggingFaceHub = nil }
        if noLlamaFarm { configuration.scanRoots.llamaFarmModels = nil }
        let logger = store.makeLogger(label: "atmo.serve", defaultLevel: .info)
        let node: ProviderNode
        do {
            node = try ProviderNode(configuration: configuration, logger: logger)
        } catch {
            Failure(message: "cannot start the node: \(error)", exitCode: 6).exit()
        }
        let portFile = self.portFile.map(absolute)
        do {
            try await node.run { port in
                if let portFile {
                    try? Data("\(port)\n".utf8).write(to: URL(fileURLWithPath: portFile), options: .atomic)
                }
            }
        } catch {
            Failure(message: "the node stopped: \(error)", exitCode: 1).exit()
        }
    }
}
