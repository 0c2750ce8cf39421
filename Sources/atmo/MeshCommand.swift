import ArgumentParser

/// `atmo mesh`: create a mesh, invite nodes, join one (filled in by the meshes work).
struct MeshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mesh", abstract: "Create, invite to and join a mesh.")
    func run() async throws { throw ValidationError("atmo mesh is not built yet") }
}
