import AtmoProtocol

/// The bodies of the gossip routes the node serves: `GET /v1/catalogs` answers with every
/// fresh catalog the node knows (a joining node's pull), `POST /v1/catalogs` takes one or
/// more pushed catalogs. Both are `{"catalogs":[model_catalog, ...]}`.
public struct CatalogBatch: Sendable, Hashable, Codable {
    /// The path of both routes.
    public static let path = "/v1/catalogs"

    /// The catalogs, each a full `model_catalog` object (with `type`).
    public var catalogs: [ModelCatalog]

    /// A batch of `catalogs`.
    public init(catalogs: [ModelCatalog]) {
        self.catalogs = catalogs
    }

    /// The size in bytes of this batch's compact JSON, given the sizes of its catalogs:
    /// `{"catalogs":[` + catalogs separated by commas + `]}`.
    public static func encodedSize(catalogSizes: [Int]) -> Int {
        15 + catalogSizes.reduce(0, +) + max(0, catalogSizes.count - 1)
    }
}
