import Foundation

extension AtmoSandbox {
    /// Starts `atmo serve` on 127.0.0.1 (port 0) with `HOME` set to `home`, so it offers
    /// LlamaFarm's folder of that home (`{home}/.llamafarm/models`) besides `folders`; no
    /// Hugging Face cache, no LAN. Waits until it serves and lists `readyModels`.
    public func serveWithHome(
        _ home: String, folders: [String] = [], stateDirectory: String, name: String, readyModels: [String] = [],
        extraArguments: [String] = [], timeout: Double = 120
    ) async throws -> ServeProcess {
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let portFile = path("\(name)-\(UUID().uuidString.prefix(8)).port")
        var arguments = [
            "serve", "--host", "127.0.0.1", "--port", "0", "--port-file", portFile, "--state-dir", stateDirectory,
            "--no-huggingface", "--no-lan",
        ]
        for folder in folders { arguments += ["--folder", folder] }
        let process = try start(arguments + extraArguments, name: name, environment: ["HOME": home])
        let bound = try await waitForPortFile(portFile, process: process, timeout: timeout)
        let server = ServeProcess(process: process, port: bound, stateDirectory: stateDirectory, folders: folders)
        try await server.waitUntilReady(listing: readyModels, timeout: timeout)
        return server
    }
}
