import AtmoProtocol
import Foundation

/// What this node reads of an upstream's JSON answers, and how: every answer is bounded in
/// bytes, then in the JSON values it holds (`Shape`, one pass over the bytes, no allocation)
/// before any parser sees it, then decoded into the few fields the mirror needs (`Info`,
/// `TreeItem`), never into Foundation objects: `JSONSerialization` makes an `NSDictionary`
/// of every `{}`, ~60 times the input (hostile review dec07h F12: a 64 MiB tree page of
/// `[{},{},...]` took 4 GB of RSS).
///
/// The bounds leave room for every real answer: the Hub pages a tree listing at 1,000
/// items (~300 bytes and ~20 values each with `expand=false`; huggingface_hub's
/// `list_repo_tree` follows `Link: rel="next"`), and another node answers its whole listing
/// of at most `WireLimits.maxFilesPerRepository` files in one page (paths of at most 1,024
/// bytes: under 8 MiB with its folders).
enum HubUpstreamJSON {
    /// Bytes of an info answer (`/api/models/{repo_id}/revision/{rev}`): the Hub's carries
    /// `siblings` (one short object per file), `cardData`, `config` and `spaces`, a few
    /// hundred KB for large repositories.
    static let maxInfoBytes = 8 << 20
    /// Bytes of one tree page.
    static let maxTreePageBytes = 8 << 20
    /// JSON values (keys, strings, numbers, literals, arrays and objects) in one answer.
    static let maxValues = 1 << 19
    /// Items (files and folders) of a whole tree listing, over all its pages.
    static let maxTreeItems = 4 * WireLimits.maxFilesPerRepository
    /// Bytes of a whole tree listing, over all its pages (64 pages of `maxTreePageBytes`
    /// would be 512 MiB): room for `maxTreeItems` items of the longest paths
    /// (`WireLimits.maxRepositoryPathBytes`, ~1.2 KB an item: ~20 MB), so 8 full pages.
    static let maxTreeBytes = 64 << 20

    /// The info fields the mirror reads.
    struct Info: Decodable {
        var sha: String?

        enum CodingKeys: String, CodingKey { case sha }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            sha = try? container.decode(String.self, forKey: .sha)
        }
    }

    /// One item of a tree page, each field as it came (nil when absent or of another type):
    /// `HubUpstreamClient.file` checks a file's; a folder's are not read.
    struct TreeItem: Decodable, Equatable {
        var type: String?
        var path: String?
        var size: Int64?
        var oid: String?
        var lfs: TreeLFS?

        init(type: String? = "file", path: String?, size: Int64?, oid: String?, lfs: TreeLFS? = nil) {
            self.type = type
            self.path = path
            self.size = size
            self.oid = oid
            self.lfs = lfs
        }

        enum CodingKeys: String, CodingKey { case type, path, size, oid, lfs }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            type = try? container.decode(String.self, forKey: .type)
            path = try? container.decode(String.self, forKey: .path)
            size = try? container.decode(Int64.self, forKey: .size)
            oid = try? container.decode(String.self, forKey: .oid)
            lfs = try? container.decode(TreeLFS.self, forKey: .lfs)
        }
    }

    struct TreeLFS: Decodable, Equatable {
        var oid: String?
        var size: Int64?

        init(oid: String?, size: Int64?) {
            self.oid = oid
            self.size = size
        }

        enum CodingKeys: String, CodingKey { case oid, size }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            oid = try? container.decode(String.self, forKey: .oid)
            size = try? container.decode(Int64.self, forKey: .size)
        }
    }

    /// How much a JSON text holds, counted without parsing it.
    struct Shape: Equatable {
        /// Values and keys, at every depth.
        var values = 0
        /// Values directly inside the outermost array or object (an object's keys count).
        var topLevelValues = 0
    }

    /// `data`'s shape, the count stopping once `values` passes `limit` (the rest is not
    /// read). Strings and their escapes are skipped whole; malformed text is counted as it
    /// comes (the decoder refuses it afterwards).
    static func shape(of data: Data, limit: Int = maxValues) -> Shape {
        data.withUnsafeBytes { raw -> Shape in
            var shape = Shape()
            var depth = 0
            var inScalar = false
            var index = 0
            let count = raw.count
            func started() {
                shape.values += 1
                if depth == 1 { shape.topLevelValues += 1 }
            }
            while index < count, shape.values <= limit {
                let byte = raw[index]
                switch byte {
                case UInt8(ascii: "\""):
                    started()
                    inScalar = false
                    index += 1
                    while index < count, raw[index] != UInt8(ascii: "\"") {
                        index += raw[index] == UInt8(ascii: "\\") ? 2 : 1
                    }
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    started()
                    depth += 1
                    inScalar = false
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    inScalar = false
                case UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                    inScalar = false
                default:
                    if !inScalar { started() }
                    inScalar = true
                }
                index += 1
            }
            return shape
        }
    }

    /// `data` decoded as `T` once its values are within `maxValues` (`shape`: already
    /// counted); `what` names the answer in the error.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data, what: String, shape counted: Shape? = nil) throws -> T {
        guard (counted ?? shape(of: data)).values <= maxValues else {
            throw HubUpstreamError("\(what) holds more than \(maxValues) JSON values, the most this node reads of one answer")
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw HubUpstreamError("\(what) is not the JSON the Hub answers (\(Self.reason(error)))")
        }
    }

    /// A decoding error in a few words (never the input it quotes).
    static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.keyNotFound(_, let context), DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? "malformed or of another shape" : "at \(path): of another shape"
        default:
            return "unreadable"
        }
    }
}
