import AtmoDashboardAssets
import AtmoProtocol
import AtmoStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix

/// The dashboard (issue 13): the page and its files (`GET /`, `GET /ui/{file}`, compiled
/// into the binary by `AtmoDashboardAssets`), this node at a glance (`GET /v1/node`) and
/// the page's one event stream (`GET /v1/events`). `ControlAccessMiddleware` decides who
/// gets here; these routes only answer.
struct DashboardRoutes: Sendable {
    let node: MeshNode
    /// The relays this node keeps links to (their URLs, as the links name them).
    let relayURLs: [String]
    let boundPort: Shared<Int>
    /// Where the file system and SQLite work of `/v1/node` runs.
    let fileReaders: NIOThreadPool
    /// When this run began.
    let startedAt: Date
    /// The public dashboard's token (nil: the dashboard answers this machine only).
    let token: String?
    /// The open event streams (`NodeAPI.maxEventStreams` at most,
    /// `NodeAPI.maxEventStreamsPerAddress` per client address).
    let streams = EventStreamSlots(perAddress: NodeAPI.maxEventStreamsPerAddress, total: NodeAPI.maxEventStreams)

    func register(on router: Router<ProviderRequestContext>) {
        // Each asks `requireControl` too: a request that got here past the guard is refused.
        router.get("/") { request, context in
            try context.requireControl("The dashboard")
            if let presented = request.uri.queryParameters.get("token") { return redirect(presented: String(presented)) }
            return Self.answer(DashboardAssets.files[DashboardAssets.indexName], request: request)
        }
        router.get("/ui/:file") { request, context in
            try context.requireControl("The dashboard")
            return Self.answer(DashboardAssets.asset(forPath: ControlAccess.routedPath(request.uri.path)), request: request)
        }
        router.get(.init(NodeAPI.path)) { _, context in
            try context.requireControl("The node view")
            return JSONResponse.make(try await status())
        }
        router.get(.init(NodeAPI.eventsPath)) { _, context in
            try context.requireControl("The event stream")
            return events(from: context.remoteAddress?.ipAddress ?? "")
        }
    }

    /// `GET /?token=T`: with this node's token, the cookie that keeps it, and in any case
    /// a 303 to `/` (the token leaves the address bar and the history). The access guard
    /// refused a wrong token from another machine before this.
    func redirect(presented: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = "/"
        headers[.cacheControl] = "no-store"
        if let token, ControlAccess.constantTimeEquals(presented, token) {
            headers[.setCookie] = "\(ControlAccess.cookieName)=\(token); HttpOnly; SameSite=Strict; Path=/"
        }
        return Response(status: .seeOther, headers: headers)
    }

    /// An asset with its type and strong ETag; 304 when `If-None-Match` names that tag;
    /// a JSON 404 for a file the dashboard does not have.
    static func answer(_ asset: DashboardAssets.Asset?, request: Request) -> Response {
        guard let asset else {
            return JSONResponse.error(.notFound, "The dashboard has no file \(request.uri.path)", code: "not_found")
        }
        var headers = HTTPFields()
        headers[.eTag] = asset.etag
        // Revalidated on every load: a new binary's files show at once, an unchanged one costs a 304.
        headers[.cacheControl] = "no-cache"
        if let ifNoneMatch = request.headers[.ifNoneMatch], matches(ifNoneMatch, etag: asset.etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        headers[.contentLength] = String(asset.bytes.count)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }

    /// Whether an `If-None-Match` list names `etag` (weak comparison, RFC 9110 §13.1.2).
    static func matches(_ ifNoneMatch: String, etag: String) -> Bool {
        ifNoneMatch.split(separator: ",").contains { item in
            var tag = item.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag
        }
    }
}
