// A Hugging Face snapshot as one repository (issue 12).
//
// Every file of the scanned snapshot carries `HubFileFacts`: the repository (id, the
// repository's own model id `{org}--{name}`), the revision (the snapshot folder's name), the
// refs naming that revision (every file under `refs/`, at any depth: `main`, `refs/pr/1`),
// the path inside the snapshot, and the blob id: the name of the blob the snapshot symlink
// resolves to, 64 hex for LFS files (their SHA-256) or 40 hex for git files (their git blob
// id). A file that does not resolve into the repository's `blobs/` folder under such a name
// (a copied snapshot, a stray file) has no blob id, and its repository is not offered.
//
// Which files are models on their own (`ScannedFile.isStandalone`, listed in `models`):
//   - GGUF, except the parts of a split GGUF (`name-00001-of-00003.gguf`): llama.cpp and
//     every GGUF runtime load a single GGUF with nothing else.
//   - TFLite: one flatbuffer with its metadata, loaded alone by the TFLite interpreter.
//   - ONNX when no external-data file sits next to it (`model.onnx_data`,
//     `model.onnx.data`): the graph with its weights is one file an ONNX runtime loads
//     alone (tokenization is outside the model). With external data it needs that file.
//   - Nothing else: safetensors, PyTorch `.bin`/`.pt`, shards and their index need the
//     repository's config (and usually the tokenizer); config, tokenizer, README,
//     `.gitattributes` and other text are never models.
// Every file stays downloadable by its own id whether or not it is standalone.

import AtmoProtocol
import Foundation

/// What a file of a Hugging Face snapshot says about its repository.
package struct HubFileFacts: Sendable, Equatable {
    /// `org/name` or `name`.
    package var repoID: String
    /// The repository's model id, `{org}--{name}` (sanitized like every id).
    package var repositoryModelID: String
    /// The snapshot's folder name: the commit.
    package var revision: String
    /// The ref names whose `refs/` file holds `revision`, sorted.
    package var refs: [String]
    /// The path inside the snapshot, `/`-separated.
    package var path: String
    /// The blob the snapshot entry resolves to (40 or 64 lowercase hex); nil when it does
    /// not resolve into `blobs/` under such a name.
    package var blobID: String?
}

extension ModelScanner {
    /// At most this many snapshots of a repository besides its main one are offered: those
    /// a ref other than `main` names (a branch, a tag, a pull request), by ref name.
    static let maxRefSnapshots = 3

    /// The snapshots besides `main` (the main snapshot's commit) that some ref names, each
    /// once, in the order of their first ref's name, at most `maxRefSnapshots`. A snapshot
    /// no ref names (an older `main`) is not offered: no client can ask for it but by
    /// commit, and a cache keeps any number of them.
    static func huggingFaceRefSnapshots(repoPath: String, main: String) -> [(commit: String, path: String)] {
        var seen: Set<String> = [main]
        var result: [(commit: String, path: String)] = []
        for (_, commit) in huggingFaceRefTargets(repoPath: repoPath) where result.count < maxRefSnapshots {
            guard Validation.isValidRevision(commit), seen.insert(commit).inserted else { continue }
            let path = repoPath + "/snapshots/" + commit
            guard FileStatus(path: path)?.isDirectory == true else { continue }
            result.append((commit, path))
        }
        return result
    }

    /// The repository name ids are built from for a snapshot: the name for the main snapshot;
    /// for another, the name with a short hash of the commit appended (`name-1a2b3c4d`), so
    /// two snapshots of a repository never share an id (a file's id keeps its extension,
    /// which the store names its download by), and every node holding that snapshot beside
    /// another `main` names it alike.
    static func revisionRepo(_ repo: String, commit: String, isMain: Bool) -> String {
        isMain ? repo : repo + "-" + ModelIdentifier.shortHash("revision:" + commit)
    }

    /// The refs of a repository folder that name `commit`: every regular file under
    /// `refs/` (at most 4 levels deep, 256 files) whose trimmed content is the commit, by
    /// its path below `refs/`; names the wire would refuse are left out. Sorted, at most
    /// `WireLimits.maxRefsPerRepository`.
    static func huggingFaceRefs(repoPath: String, commit: String) -> [String] {
        Array(huggingFaceRefTargets(repoPath: repoPath).filter { $0.commit == commit }.map(\.ref).prefix(WireLimits.maxRefsPerRepository))
    }

    /// Every ref of a repository folder with the commit it holds: regular files under `refs/`
    /// (at most 4 levels deep, 256 files, 256 bytes each), by their path below `refs/`,
    /// names the wire would refuse left out, sorted by name.
    static func huggingFaceRefTargets(repoPath: String) -> [(ref: String, commit: String)] {
        var found: [(ref: String, commit: String)] = []
        var pending: [(path: String, name: String, depth: Int)] = [(repoPath + "/refs", "", 0)]
        var visited = 0
        while let folder = pending.popLast(), visited < 256 {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { continue }
            for name in names.sorted() where !name.hasPrefix(".") {
                visited += 1
                let path = folder.path + "/" + name
                let refName = folder.name.isEmpty ? name : folder.name + "/" + name
                guard let status = FileStatus(path: path) else { continue }
                if status.isDirectory, folder.depth < 4 {
                    pending.append((path, refName, folder.depth + 1))
                } else if status.isRegularFile, status.size <= 256, Validation.isValidRefName(refName),
                    let data = FileManager.default.contents(atPath: path)
                {
                    found.append((refName, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
                }
            }
        }
        return found.sorted { $0.ref < $1.ref }
    }

    /// The blob id of a snapshot entry: the name of the file it resolves to, when that file
    /// lies directly in the repository's `blobs/` folder (`blobsPrefix`, ending in `/`) and
    /// is named by 40 or 64 lowercase hex digits.
    static func huggingFaceBlobID(resolvedPath: String, blobsPrefix: String?) -> String? {
        guard let blobsPrefix, resolvedPath.hasPrefix(blobsPrefix) else { return nil }
        let name = String(resolvedPath.dropFirst(blobsPrefix.count))
        return Validation.isValidBlobID(name) ? name : nil
    }

    /// Whether a file of a snapshot is a model on its own (see the file header).
    /// - Parameters:
    ///   - format: the sniffed format.
    ///   - path: its path in the snapshot.
    ///   - paths: every path of the snapshot.
    static func isStandaloneHubFile(format: String, path: String, paths: Set<String>) -> Bool {
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        switch format {
        case "gguf": return !isSplitPart(fileName)
        case "tflite": return true
        case "onnx":
            let stem = stem(ofPath: path)
            return ![path + "_data", path + ".data", stem + ".onnx_data", stem + ".onnx.data"].contains { paths.contains($0) }
        default: return false
        }
    }

    /// `name-00001-of-00003.gguf`: a part of a split model (llama.cpp's `gguf-split` names).
    static func isSplitPart(_ fileName: String) -> Bool {
        let stem = Self.stem(of: fileName)
        let parts = stem.split(separator: "-")
        guard parts.count >= 4, parts[parts.count - 2] == "of" else { return false }
        let isNumber = { (text: Substring) in !text.isEmpty && text.allSatisfy(\.isASCII) && text.allSatisfy(\.isNumber) }
        return isNumber(parts[parts.count - 3]) && isNumber(parts[parts.count - 1])
    }
}
