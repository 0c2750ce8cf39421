// A small app built on the public API of AtmoNode only: it runs a node, prints the
// mesh's models as they change, and (given a model id) downloads it and prints each state.
//
//   swift run atmo-example                       # browse the mesh for 10 s
//   swift run atmo-example yolov8n-coco          # download a model from the best peer
//   swift run atmo-example MODEL --peer http://192.168.1.20:14750   # no multicast here
import AtmoMesh
import AtmoNode
import Foundation
import Logging
import ServiceLifecycle

@main
struct MeshBrowser {
    static func main() async throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        var peers: [String] = []
        while let index = arguments.firstIndex(of: "--peer"), index + 1 < arguments.count {
            peers.append(arguments[index + 1])
            arguments.removeSubrange(index...(index + 1))
        }
        let wanted = arguments.first

        // The node's configuration is a plain Sendable struct.
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        var configuration = NodeConfiguration.defaults(environment: ProcessInfo.processInfo.environment, home: home)
        configuration.stateDirectory = NSTemporaryDirectory() + "atmo-example"
        configuration.modelsDirectory = configuration.stateDirectory + "/models"
        configuration.port = 0
        configuration.mesh.peers = peers
        var logger = Logger(label: "atmo-example")
        logger.logLevel = .warning
        let node = try MeshNode(configuration: configuration, logger: logger)

        // The node is a Service: run it in the app's ServiceGroup, next to the app's own work.
        let group = ServiceGroup(services: [node], gracefulShutdownSignals: [.sigint, .sigterm], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                if let wanted {
                    try await download(wanted, with: node)
                } else {
                    await browse(node, seconds: 10)
                }
                await group.triggerGracefulShutdown()
            }
            try await tasks.waitForAll()
        }
    }

    /// Prints the merged model list each time the mesh view changes.
    static func browse(_ node: MeshNode, seconds: Double) async {
        let deadline = ContinuousClock.now + .seconds(seconds)
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                for await models in node.modelUpdates {
                    print("-- \(models.count) models in the mesh")
                    for model in models {
                        let best = model.providers.first.map { "best peer \($0.nodeName)" } ?? "only here"
                        print("   \(model.entry.modelID)  \(model.entry.format)  \(model.entry.sizeBytes) bytes  \(best)")
                    }
                }
            }
            try? await Task.sleep(until: deadline)
            tasks.cancelAll()
        }
    }

    /// Waits (up to 30 s) for the mesh to offer `modelID`, downloads it, prints its states.
    static func download(_ modelID: String, with node: MeshNode) async throws {
        for await models in node.modelUpdates where models.contains(where: { $0.entry.modelID == modelID }) { break }
        if let provider = node.chosenProvider(for: modelID) {
            print("downloading \(modelID) from \(provider.nodeName) (\(provider.http ?? "?"))")
        }
        let requestID = try node.download(modelID: modelID)
        for await update in node.downloadUpdates where update.requestID == requestID {
            print("   \(update.state)")
            switch update.state {
            case .completed, .failed, .cancelled: return
            default: continue
            }
        }
    }
}
