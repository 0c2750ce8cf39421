import AtmoProtocol
import Foundation
import GRDB

/// Resume state of a download, keyed by the artefact's SHA-256 so two versions of one
/// model id never share a partial file.
///
/// Two sets of pieces are kept. `writtenPieces` are in the partial file as far as the
/// operating system is concerned (recorded right after each write, no fsync): they survive
/// the death of the process, but not of the machine. `durablePieces` were fsynced before
/// being recorded: they survive a power cut. `bootID` tells which set applies on resume.
public struct DownloadRecord: Sendable, Equatable {
    public var entry: ModelEntry
    public var pieceSize: Int64
    public var partialPath: String
    public var sourceURL: String
    public var durablePieces: [UInt8]
    public var writtenPieces: [UInt8]
    /// The boot during which `writtenPieces` was recorded.
    public var bootID: String

    public init(
        entry: ModelEntry, pieceSize: Int64, partialPath: String, sourceURL: String, durablePieces: [UInt8],
        writtenPieces: [UInt8], bootID: String
    ) {
        self.entry = entry
        self.pieceSize = pieceSize
        self.partialPath = partialPath
        self.sourceURL = sourceURL
        self.durablePieces = durablePieces
        self.writtenPieces = writtenPieces
        self.bootID = bootID
    }

    /// The pieces that can be trusted now: all written ones within the same boot, only the
    /// fsynced ones after a reboot.
    public func trustedPieces(currentBootID: String) -> [UInt8] {
        bootID == currentBootID ? writtenPieces : durablePieces
    }

    /// This machine's boot id (see `BootID`: `/proc` on Linux, sysctl on Darwin).
    public static var currentBootID: String { BootID.current }
}

extension StateDatabase {
    struct DownloadRow: Codable, FetchableRecord, PersistableRecord, Sendable {
        static let databaseTableName = "download"
        var sha256: String
        var model_id: String
        var size: Int64
        var piece_size: Int64
        var partial_path: String
        var source_url: String
        var durable_pieces: Data
        var written_pieces: Data
        var boot_id: String
        var entry_json: Data
        var updated_at: Double
    }

    public func download(sha256: String) throws(StoreError) -> DownloadRecord? {
        guard let row = try read({ db in try DownloadRow.fetchOne(db, key: sha256) }) else { return nil }
        return try Self.record(from: row)
    }

    public func allDownloads() throws(StoreError) -> [DownloadRecord] {
        let rows = try read { db in try DownloadRow.fetchAll(db) }
        var records: [DownloadRecord] = []
        for row in rows { records.append(try Self.record(from: row)) }
        return records
    }

    public func saveDownload(_ record: DownloadRecord) throws(StoreError) {
        let entryJSON: Data
        do {
            entryJSON = try WireCoding.encode(record.entry)
        } catch {
            throw StoreError(.database, "cannot encode the catalog entry of \(record.entry.modelID): \(error)")
        }
        let row = DownloadRow(
            sha256: record.entry.sha256, model_id: record.entry.modelID, size: record.entry.sizeBytes,
            piece_size: record.pieceSize, partial_path: record.partialPath, source_url: record.sourceURL,
            durable_pieces: Data(record.durablePieces), written_pieces: Data(record.writtenPieces),
            boot_id: record.bootID, entry_json: entryJSON, updated_at: Date().timeIntervalSince1970)
        try write { db in try row.save(db) }
    }

    public func deleteDownload(sha256: String) throws(StoreError) {
        _ = try write { db in try DownloadRow.deleteOne(db, key: sha256) }
    }

    private static func record(from row: DownloadRow) throws(StoreError) -> DownloadRecord {
        let entry: ModelEntry
        do {
            entry = try WireCoding.decode(ModelEntry.self, from: row.entry_json)
        } catch {
            throw StoreError(.corrupt, "the saved state of download \(row.model_id) is unreadable: \(error)")
        }
        return DownloadRecord(
            entry: entry, pieceSize: row.piece_size, partialPath: row.partial_path, sourceURL: row.source_url,
            durablePieces: Array(row.durable_pieces), writtenPieces: Array(row.written_pieces), bootID: row.boot_id)
    }
}

extension StateDatabase {
    /// Records which pieces are written (cheap: one small UPDATE, no fsync), and optionally
    /// which are durable. With `partialPath`, only a record of that partial file is
    /// updated: the same artefact pulled into another folder at the same time has its own
    /// partial, and its pieces must never be credited to this one.
    public func updateDownloadPieces(
        sha256: String, written: [UInt8], durable: [UInt8]?, partialPath: String? = nil
    ) throws(StoreError) {
        let now = Date().timeIntervalSince1970
        try write { db in
            var sql = "UPDATE download SET written_pieces = ?, updated_at = ?"
            var arguments: StatementArguments = [Data(written), now]
            if let durable {
                sql += ", durable_pieces = ?"
                arguments += [Data(durable)]
            }
            sql += " WHERE sha256 = ?"
            arguments += [sha256]
            if let partialPath {
                sql += " AND partial_path = ?"
                arguments += [partialPath]
            }
            try db.execute(sql: sql, arguments: arguments)
        }
    }
}
