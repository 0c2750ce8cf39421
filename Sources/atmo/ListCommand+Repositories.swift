import AtmoStore

/// `atmo ls` shows a Hugging Face snapshot as one repository row (its files count and total
/// size), beside the files usable alone, as `atmo serve` offers them; `--json` lists every
/// file with the repository it belongs to and whether it is a model on its own.
extension ListCommand {
    /// The table rows: standalone files, then one row per repository, sorted by id.
    static func tableRows(_ rows: [ListedModel]) -> [[String]] {
        var table = rows.filter(\.isStandalone).map { row in
            [
                row.modelID, row.type, row.format, "1", formatBytes(row.sizeBytes), row.source,
                row.sha256.map { String($0.prefix(12)) } ?? "(not hashed yet)",
            ]
        }
        let repositories = Dictionary(grouping: rows.filter { $0.repository != nil }, by: { $0.repository ?? "" })
        for (id, files) in repositories {
            let hashed = files.allSatisfy { $0.sha256 != nil }
            let main = files.filter { $0.format != "json" && $0.format != "txt" && $0.format != "md" }.max { $0.sizeBytes < $1.sizeBytes }
            table.append([
                id, main?.type ?? "unknown", main?.format ?? "", String(files.count),
                formatBytes(files.reduce(0) { $0 + $1.sizeBytes }), "huggingface", hashed ? "(repository)" : "(not hashed yet)",
            ])
        }
        return table.sorted { $0[0] < $1[0] }
    }
}
