import HTTPTypes
import Hummingbird
import Synchronization

/// The node's routes as they were registered on the router, so an unmatched request can be
/// told apart as 404 (no route has its path) or 405 (another method does). Read from the
/// router once registration is done (`load`), never kept in step with the routes by hand.
final class RouteTable: Sendable {
    private struct Route: Sendable {
        var path: RouterPath
        var methods: [HTTPRequest.Method]
    }

    private let routes = Mutex<[Route]>([])

    /// Takes the router's routes. A `GET` route answers `HEAD` too (the node's router is built
    /// with `.autoGenerateHeadEndpoints`, which adds those only when the responder is built).
    func load<Context>(from router: Router<Context>) {
        var byPath: [String: Route] = [:]
        var order: [String] = []
        for description in router.routes {
            let key = description.path.description
            if byPath[key] == nil {
                byPath[key] = Route(path: description.path, methods: [])
                order.append(key)
            }
            var methods = [description.method]
            if description.method == .get { methods.append(.head) }
            for method in methods where !(byPath[key]?.methods.contains(method) ?? true) {
                byPath[key]?.methods.append(method)
            }
        }
        let loaded = order.compactMap { byPath[$0] }
        routes.withLock { $0 = loaded }
    }

    /// The methods some route accepts for `path`; empty when no route matches it.
    func allowedMethods(path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/")
        return routes.withLock { routes in
            var methods: [HTTPRequest.Method] = []
            for route in routes where route.path.components.count == segments.count {
                guard zip(route.path.components, segments).allSatisfy({ $0 ~= $1 }) else { continue }
                for method in route.methods where !methods.contains(method) { methods.append(method) }
            }
            return methods
        }
    }
}
