import AtmoProtocol
import AtmoStore
import Foundation

/// The JSON bodies of the Hub endpoint, with the Hub's own field names (camelCase, unlike
/// the rest of this node's API), built from a repository entry.
enum HubBodies {
    /// `GET /api/models/{repo_id}[/revision/{rev}]`: what `huggingface_hub`'s `ModelInfo`
    /// reads. `siblings` always carry sizes, blob ids and LFS data (the Hub's `?blobs=true`).
    struct Info: Encodable {
        var id: String
        var author: String?
        var sha: String
        var siblings: [Sibling]
        var tags: [String] = []
        var `private` = false
        var gated = false
        var disabled = false
        var downloads = 0
        var likes = 0
        var usedStorage: Int64

        init(_ entry: RepositoryEntry) {
            id = entry.repoID
            author = entry.repoID.split(separator: "/").count == 2 ? entry.repoID.split(separator: "/").first.map(String.init) : nil
            sha = entry.revision
            siblings = entry.files.map(Sibling.init)
            usedStorage = entry.sizeBytes
        }

        enum CodingKeys: String, CodingKey {
            case id, modelId, author, sha, siblings, tags, `private`, gated, disabled, downloads, likes, usedStorage
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(id, forKey: .modelId)
            try container.encodeIfPresent(author, forKey: .author)
            try container.encode(sha, forKey: .sha)
            try container.encode(siblings, forKey: .siblings)
            try container.encode(tags, forKey: .tags)
            try container.encode(`private`, forKey: .private)
            try container.encode(gated, forKey: .gated)
            try container.encode(disabled, forKey: .disabled)
            try container.encode(downloads, forKey: .downloads)
            try container.encode(likes, forKey: .likes)
            try container.encode(usedStorage, forKey: .usedStorage)
        }
    }

    struct Sibling: Encodable {
        var rfilename: String
        var size: Int64
        var blobId: String
        var lfs: SiblingLFS?

        init(_ file: RepositoryFile) {
            rfilename = file.path
            size = file.sizeBytes
            blobId = HubBodies.gitObjectID(file)
            lfs = file.isGitBlob ? nil : SiblingLFS(size: file.sizeBytes, sha256: file.sha256, pointerSize: HubBodies.pointerSize(file))
        }
    }

    struct SiblingLFS: Encodable {
        var size: Int64
        var sha256: String
        var pointerSize: Int
    }

    /// One item of `GET /api/models/{repo_id}/tree/{rev}[/{path}]`.
    struct TreeItem: Encodable {
        var type: String
        var oid: String
        var size: Int64
        var path: String
        var lfs: TreeLFS?

        init(_ item: HubCatalog.TreeItem) {
            switch item {
            case .file(let file):
                type = "file"
                oid = HubBodies.gitObjectID(file)
                size = file.sizeBytes
                path = file.path
                lfs = file.isGitBlob ? nil : TreeLFS(oid: file.sha256, size: file.sizeBytes, pointerSize: HubBodies.pointerSize(file))
            case .folder(let folderPath):
                type = "directory"
                // Not git's tree id (the snapshot does not carry it): the git blob id of the
                // folder's path, stable and 40 hex like one.
                oid = GitLFSPointer.gitBlobID(of: Array(folderPath.utf8))
                size = 0
                path = folderPath
                lfs = nil
            }
        }
    }

    struct TreeLFS: Encodable {
        var oid: String
        var size: Int64
        var pointerSize: Int
    }

    /// The file's git object id on the Hub: its blob id for a file kept in git, the blob id
    /// of its LFS pointer for an LFS file.
    static func gitObjectID(_ file: RepositoryFile) -> String {
        file.isGitBlob ? file.blobID : GitLFSPointer.gitBlobID(sha256: file.sha256, size: file.sizeBytes)
    }

    static func pointerSize(_ file: RepositoryFile) -> Int {
        GitLFSPointer.size(sha256: file.sha256, size: file.sizeBytes)
    }

    /// `{"error": message}`, the Hub's error body.
    struct ErrorBody: Encodable {
        var error: String
    }

    static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }
}
