import AtmoProtocol
import AtmoStore
import Foundation
import Hummingbird
import NIOPosix

extension MeshNode {
    /// The access guard of this node's dashboard and control API: public (with the token
    /// of `{state}/dashboard-token`, made now if needed) when `dashboardPublic`, else this
    /// machine only. A node listening on a name (not an address) is answered under it too.
    func controlAccess() throws -> ControlAccess {
        let token = configuration.dashboardPublic ? try DashboardToken.loadOrCreate(stateDirectory: configuration.stateDirectory) : nil
        var names: Set<String> = []
        let host = configuration.host.lowercased()
        if !host.isEmpty, !ControlAccess.isLoopbackOrLiteral(host: host.contains(":") ? "[\(host)]" : host) { names.insert(host) }
        return ControlAccess(isPublic: configuration.dashboardPublic, token: token, extraHostNames: names)
    }

    /// Registers the access guard (before every route, so it sees every request) and
    /// returns the routes of the dashboard, to register after the node's own.
    func dashboard(
        on router: Router<ProviderRequestContext>, relayURLs: [String], boundPort: Shared<Int>, fileReaders: NIOThreadPool
    ) throws -> DashboardRoutes {
        let access = try controlAccess()
        let uploads = ledger.uploads
        router.add(
            middleware: ControlAccessMiddleware(
                access: access, seesClientsAsRemote: configuration.dashboardSeesClientsAsRemote, changed: { uploads.changed() }))
        return DashboardRoutes(
            node: self, relayURLs: relayURLs, boundPort: boundPort, fileReaders: fileReaders, startedAt: Date(), token: access.token)
    }

    /// The dashboard's address, as `atmo serve` prints it: on this machine
    /// (`http://127.0.0.1:PORT/`), or, for a public dashboard, at the address peers use,
    /// with the token (`http://HOST:PORT/?token=T`).
    public func dashboardURL(port: Int) -> String {
        guard configuration.dashboardPublic, let token = DashboardToken.existing(stateDirectory: configuration.stateDirectory) else {
            return "http://\(LocalNodeFile.localAddress(forBoundHost: configuration.host)):\(port)/"
        }
        let base = configuration.mesh.advertisedURL ?? MeshService.defaultAdvertisedURL(host: configuration.host, port: port)
        return MeshClient.trimmed(base) + "/?token=" + token
    }
}
