/// **Extension** `repositories` of `model_catalog`: the repository revisions a node offers as
/// models, each with all its files (docs/PROTOCOL.md, "Repositories").
///
/// Older nodes read `models` only: they ignore this field (and keep relaying it in their
/// unknown fields), so they are never offered an entry whose download is not one file that
/// matches its `sha256` and `size_bytes`.
extension ModelCatalog {
    /// The wire name of the extension.
    public static let repositoriesField = "repositories"

    /// Reads `repositories` lossily: an entry that does not decode (any bad file fails its
    /// entry), or whose `model_id` is already a model's or an earlier repository's, is left
    /// out and its reason returned; a value that is not an array, or an array over
    /// `WireLimits.maxRepositoriesPerCatalog`, costs the extension (one rejection), never the
    /// catalog. The field is marked known either way, so it is never also kept in `extra`.
    static func decodeRepositories(_ reader: inout FieldReader, models: [ModelEntry]) -> (
        values: [RepositoryEntry], rejected: [WireError]
    ) {
        let field = repositoriesField
        let decoded: (values: [RepositoryEntry], rejected: [WireError])?
        do {
            decoded = try reader.lossyArray(RepositoryEntry.self, field, limit: WireLimits.maxRepositoriesPerCatalog)
        } catch let error as DecodingError {
            return ([], [WireCoding.wireError(error)])
        } catch {
            return ([], [WireError(.invalidValue, "\(field): \(error)")])
        }
        guard let decoded else { return ([], []) }
        var taken = Set(models.map(\.modelID))
        var values: [RepositoryEntry] = []
        var rejected = decoded.rejected
        for entry in decoded.values {
            if taken.insert(entry.modelID).inserted {
                values.append(entry)
            } else {
                rejected.append(
                    WireError(.invalidModelID, "\(field): model_id \(entry.modelID) is already a model or repository of this catalog"))
            }
        }
        return (values, rejected)
    }

    /// The repository whose `model_id` is `id`, if this catalog has one.
    public func repository(_ id: String) -> RepositoryEntry? {
        repositories.first { $0.modelID == id }
    }

    /// The files of all repositories (what the count bounds of gossip weigh besides entries).
    public var repositoryFileCount: Int { repositories.reduce(0) { $0 + $1.files.count } }
}

extension WireLimits {
    /// Most entries in one catalog's `repositories`; beyond it the extension is dropped, not
    /// the catalog.
    public static let maxRepositoriesPerCatalog = 512
    /// Most files of one repository entry; beyond it the entry is dropped.
    public static let maxFilesPerRepository = 4096
    /// Longest `path` of a repository file, in UTF-8 bytes.
    public static let maxRepositoryPathBytes = 1024
    /// Most `refs` of one repository entry.
    public static let maxRefsPerRepository = 16
    /// Longest ref name, in bytes.
    public static let maxRefNameBytes = 255
}
