import Crypto

/// The dashboard's files (`Assets/`), compiled into the binary by SwiftPM (`.embedInCode`):
/// a node serves its page with no file on disk, no CDN and no build step.
///
/// A file added to `Assets/` is served once it has a line in `files` below (SwiftPM names
/// its bytes `PackageResources.<name_with_underscores>`).
package enum DashboardAssets {
    /// One servable file.
    package struct Asset: Sendable {
        /// The file's name, e.g. `app.js`.
        package let name: String
        package let bytes: [UInt8]
        /// The `Content-Type` to answer with.
        package let contentType: String
        /// A strong entity tag: the SHA-256 of the bytes in hex, quoted (`"ab12..."`).
        package let etag: String

        init(_ name: String, _ bytes: [UInt8], _ contentType: String) {
            self.name = name
            self.bytes = bytes
            self.contentType = contentType
            self.etag =
                "\""
                + SHA256.hash(data: bytes).map { byte in
                    let hex = String(byte, radix: 16)
                    return byte < 16 ? "0" + hex : hex
                }.joined() + "\""
        }
    }

    /// The page itself, answered at `/`.
    package static let indexName = "index.html"

    /// Every file by name, hashed once (on first use).
    package static let files: [String: Asset] = {
        let all = [
            Asset("index.html", PackageResources.index_html, "text/html; charset=utf-8"),
            Asset("app.js", PackageResources.app_js, "text/javascript; charset=utf-8"),
            Asset("api.js", PackageResources.api_js, "text/javascript; charset=utf-8"),
            Asset("dom.js", PackageResources.dom_js, "text/javascript; charset=utf-8"),
            Asset("download-status.js", PackageResources.download_status_js, "text/javascript; charset=utf-8"),
            Asset("downloads.js", PackageResources.downloads_js, "text/javascript; charset=utf-8"),
            Asset("events.js", PackageResources.events_js, "text/javascript; charset=utf-8"),
            Asset("events-worker.js", PackageResources.events_worker_js, "text/javascript; charset=utf-8"),
            Asset("format.js", PackageResources.format_js, "text/javascript; charset=utf-8"),
            Asset("model-list.js", PackageResources.model_list_js, "text/javascript; charset=utf-8"),
            Asset("model-page.js", PackageResources.model_page_js, "text/javascript; charset=utf-8"),
            Asset("models.js", PackageResources.models_js, "text/javascript; charset=utf-8"),
            Asset("node-view.js", PackageResources.node_view_js, "text/javascript; charset=utf-8"),
            Asset("notices.js", PackageResources.notices_js, "text/javascript; charset=utf-8"),
            Asset("notifications.js", PackageResources.notifications_js, "text/javascript; charset=utf-8"),
            Asset("peers.js", PackageResources.peers_js, "text/javascript; charset=utf-8"),
            Asset("refresh.js", PackageResources.refresh_js, "text/javascript; charset=utf-8"),
            Asset("state.js", PackageResources.state_js, "text/javascript; charset=utf-8"),
            Asset("app.css", PackageResources.app_css, "text/css; charset=utf-8"),
            Asset("icon.svg", PackageResources.icon_svg, "image/svg+xml"),
        ]
        return Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
    }()

    /// The asset a request path names: `/` is the page, `/ui/{name}` a file; nil otherwise
    /// (no folders, no other paths).
    package static func asset(forPath path: String) -> Asset? {
        if path == "/" { return files[indexName] }
        guard path.hasPrefix("/ui/") else { return nil }
        let name = path.dropFirst(4)
        guard !name.isEmpty, !name.contains("/") else { return nil }
        return files[String(name)]
    }
}
