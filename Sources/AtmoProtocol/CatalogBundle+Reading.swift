import Foundation

extension HTTPAPI.CatalogBundle {
    /// Reads a `GET /v1/catalogs` answer: the one way a node or `atmo` decodes one, so that
    /// every reader takes the bound docs/PROTOCOL.md gives a whole mesh's catalogs,
    /// `WireLimits.maxCatalogBundleBytes` (64 MiB), and none the 8 MiB of one message
    /// (`WireCoding.decode`'s default), which a mesh of many catalogs passes by itself.
    ///
    /// Catalogs refused one by one are in `rejected`. When the body nests deeper than
    /// `WireLimits.maxJSONDepth` somewhere, their reasons say so: the cut-off value
    /// (`JSONDepthGuard`) otherwise shows only as a value of the wrong type.
    public static func read(_ data: Data) throws(WireError) -> Self {
        var bundle = try WireCoding.decode(Self.self, from: data, limit: WireLimits.maxCatalogBundleBytes)
        if !bundle.rejected.isEmpty, JSONDepthGuard.firstTooDeep(data, maxDepth: WireLimits.maxJSONDepth) != nil {
            bundle.rejected = bundle.rejected.map {
                WireError($0.code, "\($0.message) (the answer nests more than \(WireLimits.maxJSONDepth) levels deep somewhere)")
            }
        }
        return bundle
    }
}
