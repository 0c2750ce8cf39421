/// **Extension** `partial_models` of `model_catalog`: the files a node is pulling now and
/// serves piece by piece while they arrive (docs/PROTOCOL.md, "Partial offers").
///
/// Each entry is a whole `ModelEntry` (its `size_bytes` and `sha256` are those of the whole
/// file) that must name its piece manifest (`piece_size`, `pieces_sha256`): a partial
/// holder serves verified pieces only, and a consumer checks each against the manifest.
/// Partial entries are never listed in `models`, so an older node, which reads `models`
/// only, is never offered a file it cannot download whole.
extension ModelCatalog {
    /// The wire name of the extension.
    public static let partialModelsField = "partial_models"

    /// Reads `partial_models` lossily: an entry that does not decode, or names no piece
    /// manifest, is left out and its reason returned; a value that is not an array, or an
    /// array over `WireLimits.maxPartialModelsPerCatalog`, costs the extension (one
    /// rejection), never the catalog. The field is marked known either way, so it is never
    /// also kept in `extra`.
    static func decodePartialModels(_ reader: inout FieldReader) -> (values: [ModelEntry], rejected: [WireError]) {
        let field = partialModelsField
        let decoded: (values: [ModelEntry], rejected: [WireError])?
        do {
            decoded = try reader.lossyArray(ModelEntry.self, field, limit: WireLimits.maxPartialModelsPerCatalog)
        } catch let error as DecodingError {
            return ([], [WireCoding.wireError(error)])
        } catch {
            return ([], [WireError(.invalidValue, "\(field): \(error)")])
        }
        guard let decoded else { return ([], []) }
        var values: [ModelEntry] = []
        var rejected = decoded.rejected
        for entry in decoded.values {
            if entry.manifestReference == nil {
                rejected.append(
                    WireError(
                        .missingField,
                        "\(field): entry \(entry.modelID) names no valid piece manifest (piece_size, pieces_sha256)"))
            } else {
                values.append(entry)
            }
        }
        return (values, rejected)
    }

    /// The number of entries a catalog holds, complete and partial, and the files of its
    /// repositories (what gossip's count bounds weigh).
    public var entryCount: Int { models.count + partialModels.count + repositoryFileCount }
}
