import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

/// The mesh of the swarm-over-relay suites (SwarmRelayEndToEndTests, SwarmRelayLossEndToEndTests):
/// a mesh `home` made with `atmo relay`, whose members are
/// - A, the seed: offers the model over HTTP only, behind `proxyA` (the URL it advertises);
/// - B: no reachable endpoint, the relay only; holds a copy of the model, or starts with none;
/// - C, the one that pulls: holds nothing, no reachable endpoint, and reaches the relay through
///   `relayForC`, a proxy that counts what the relay sends it; logs at `info`.
struct SwarmRelayMesh: Sendable {
    /// What B holds when the mesh starts.
    enum HolderB: Sendable {
        /// A copy of A's file: served, its piece manifest named, before C starts.
        case copy
        /// Nothing (it may pull the model itself); probes every 0.5 s.
        case empty
    }

    let relay: RelayProcess
    let a: ServeProcess
    let b: ServeProcess
    let c: ServeProcess
    let proxyA: TCPProxy
    let relayForC: TCPProxy
    let modelID: String
    let sha256: String
    /// A's copy of the model.
    let source: String

    /// What B and C advertise: nobody reaches it.
    static let deadEndpoint = "http://127.0.0.1:1"

    /// Writes the model (`size` bytes of `seed`, a GGUF header), starts the relay, makes the
    /// mesh, the two proxies (`proxyA` with `optionsA` in front of A's HTTP port, `relayForC`
    /// with `relayOptions` in front of the relay), C's membership, then A, B and C, and runs
    /// `body`. With B holding a copy, it returns once C sees A over HTTP and B over the relay
    /// alone, both naming the manifest. The proxies stop when `body` returns.
    static func run(
        in sandbox: AtmoSandbox, modelID: String, size: Int64, seed: UInt64, holderB: HolderB, optionsA: TCPProxy.Options,
        relayOptions: TCPProxy.Options, _ body: @escaping @Sendable (SwarmRelayMesh) async throws -> Void
    ) async throws {
        let (folderA, folderB) = (sandbox.path("a-models"), sandbox.path("b-models"))
        let sha256 = try ModelFixtures.writeModel(at: folderA + "/" + modelID, size: Int(size), seed: seed, header: .gguf)
        if holderB == .copy {
            try FileManager.default.createDirectory(atPath: folderB, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: folderA + "/" + modelID, toPath: folderB + "/" + modelID)
        }
        let relay = try await sandbox.relay(stateDirectory: sandbox.path("relay"))
        try await sandbox.makeMesh(name: "home", relay: relay.url, founderState: sandbox.path("a"), memberStates: [sandbox.path("b")])
        let portA = try HTTPProbe.unusedPort()
        try await withProxies([(portA, optionsA), (relay.port, relayOptions)]) { proxies in
            let (proxyA, relayForC) = (proxies[0], proxies[1])
            try await join(sandbox, stateDirectory: sandbox.path("c"), relay: "ws://127.0.0.1:\(relayForC.port)")
            let a = try await sandbox.serve(
                folders: [folderA], stateDirectory: sandbox.path("a"), port: portA, name: "a", readyModels: [modelID],
                extraArguments: ["--advertise-url", proxyA.baseURL])
            let b: ServeProcess
            switch holderB {
            case .copy:
                b = try await sandbox.serve(
                    folders: [folderB], stateDirectory: sandbox.path("b"), name: "b", readyModels: [modelID],
                    extraArguments: ["--advertise-url", deadEndpoint])
                try await SwarmModel.waitForManifest(a, modelID: modelID)
                try await SwarmModel.waitForManifest(b, modelID: modelID)
            case .empty:
                try await SwarmModel.waitForManifest(a, modelID: modelID)
                b = try await sandbox.serve(
                    folders: [], stateDirectory: sandbox.path("b"), name: "b",
                    extraArguments: ["--advertise-url", deadEndpoint, "--probe-interval", "0.5"])
            }
            let c = try await sandbox.serve(
                folders: [], stateDirectory: sandbox.path("c"), name: "c",
                extraArguments: ["--advertise-url", deadEndpoint, "--probe-interval", "0.5", "--log-level", "info"])
            if holderB == .copy {
                try await c.waitForMesh("A over HTTP and B over the relay alone, both naming the manifest") { models in
                    guard let model = models.first(where: { $0.entry.modelID == modelID }), model.entry.manifestReference != nil else {
                        return false
                    }
                    let routes = model.providers.map { $0.transports ?? [] }
                    return routes.contains { $0.first == "http" } && routes.contains(["relay"])
                }
            }
            try await body(
                SwarmRelayMesh(
                    relay: relay, a: a, b: b, c: c, proxyA: proxyA, relayForC: relayForC, modelID: modelID,
                    sha256: sha256, source: folderA + "/" + modelID))
        }
    }

    /// `atmo mesh invite` on A's state, joined on `stateDirectory` with `relay` as its relay.
    static func join(_ sandbox: AtmoSandbox, stateDirectory: String, relay: String) async throws {
        let invite = try await sandbox.run(["mesh", "invite", "--state-dir", sandbox.path("a"), "--json"], name: "invite")
        let link = try #require(
            (try JSONSerialization.jsonObject(with: Data(invite.stdout.utf8)) as? [String: Any])?["invite"] as? String)
        let join = try await sandbox.run(["mesh", "join", link, "--state-dir", stateDirectory, "--relay", relay], name: "join")
        #expect(join.status == 0, "\(join.stderr)")
    }
}
