import ArgumentParser
import AtmoNode
import Foundation

/// `atmo open`: the running node's dashboard in the browser (its address printed too).
struct OpenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Open the running node's dashboard in the browser.",
        discussion: """
            Finds the node that runs on this state folder (`atmo serve`), prints its dashboard's \
            address and opens it with xdg-open (Linux) or open (macOS) when there is one. With \
            --print it only prints the address.
            """)

    @OptionGroup var store: StoreOptions

    @Flag(name: .customLong("print"), help: "Only print the dashboard's address.")
    var printOnly = false

    func run() async throws {
        let configuration = store.nodeConfiguration()
        let node = await LocalNodeClient.require(stateDirectory: configuration.stateDirectory, json: false, alternative: "")
        let url = node.file.baseURL + "/"
        print(url)
        guard !printOnly else { return }
        guard let opener = Self.opener() else {
            FileHandle.standardError.write(Data("no xdg-open or open here: open \(url) in a browser\n".utf8))
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opener)
        process.arguments = [url]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            FileHandle.standardError.write(Data("could not run \(opener) (\(error)): open \(url) in a browser\n".utf8))
        }
    }

    /// The program that opens an address in the user's browser: `open` on macOS,
    /// `xdg-open` elsewhere, found on `PATH`; nil when there is none.
    static func opener() -> String? {
        #if os(macOS)
            let name = "open"
        #else
            let name = "xdg-open"
        #endif
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
