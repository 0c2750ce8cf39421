// Hugging Face hub cache scanning.
//
// Layout: `{hub}/models--{org}--{name}/snapshots/{commit}/{nested/path}` are symlinks into
// `../../blobs/{blob}`; `refs/main` holds the commit. The scanner takes the snapshot `refs/main`
// names (or, without a usable `refs/main`, the newest snapshot by mtime, ties by name), and the
// few other snapshots a ref names (ModelScanner+HubRepository.swift), every file of each at any
// depth, with no size floor. A blob named by 64 lowercase hex digits is an LFS
// file and its name is the file's SHA-256 (`knownSHA256`); 40-hex blobs are git object ids of
// small files and say nothing about SHA-256. Only `models--` folders are read (not `datasets--`
// or `spaces--`). The snapshot is also one repository: every file carries `HubFileFacts`, and
// only files usable alone are standalone models (ModelScanner+HubRepository.swift).

import Foundation

extension ModelScanner {
    /// A `models--{org}--{name}` folder name split into org and repo name.
    /// `models--gpt2` has org "". Nil for anything that is not a model repo folder.
    static func huggingFaceRepo(folderName: String) -> (org: String, repo: String)? {
        let prefix = "models--"
        guard folderName.hasPrefix(prefix) else { return nil }
        let rest = String(folderName.dropFirst(prefix.count))
        let parts = rest.components(separatedBy: "--")
        guard let first = parts.first, !first.isEmpty else { return nil }
        if parts.count == 1 {
            return ("", first)
        }
        let repo = parts.dropFirst().joined(separator: "--")
        return repo.isEmpty ? nil : (first, repo)
    }

    /// The snapshot folder to scan: the commit in `refs/main` when that snapshot exists, else the
    /// newest snapshot by mtime. Returns the commit (folder name) and its path.
    static func huggingFaceSnapshot(repoPath: String) -> (commit: String, path: String)? {
        let snapshots = repoPath + "/snapshots"
        if let data = FileManager.default.contents(atPath: repoPath + "/refs/main"),
            let text = String(data: data.prefix(256), encoding: .utf8)
        {
            let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !commit.isEmpty, !commit.contains("/"), !commit.hasPrefix("."),
                FileStatus(path: snapshots + "/" + commit)?.isDirectory == true
            {
                return (commit, snapshots + "/" + commit)
            }
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: snapshots) else { return nil }
        let candidates = names.filter { !$0.hasPrefix(".") }.compactMap { name -> (String, Int64)? in
            guard let status = FileStatus(path: snapshots + "/" + name), status.isDirectory else { return nil }
            return (name, status.modificationTimeNanos)
        }
        let newest = candidates.max { ($0.1, $0.0) < ($1.1, $1.0) }
        return newest.map { ($0.0, snapshots + "/" + $0.0) }
    }

    /// True for 64 lowercase hex digits (an LFS blob name, i.e. a SHA-256).
    static func isSHA256Hex(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// The files of every repository folder of the hub cache; entries resolving outside
    /// their repository's `blobs/` go to `refused` (ModelScanner+HubContainment.swift).
    func scanHuggingFaceHub(root: String, refused: inout [RefusedEntry]) -> [Candidate] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
        var candidates: [Candidate] = []
        for folderName in names.sorted() {
            guard let (org, repo) = Self.huggingFaceRepo(folderName: folderName),
                FileStatus(path: root + "/" + folderName)?.isDirectory == true
            else { continue }
            candidates += scanHuggingFaceRepo(path: root + "/" + folderName, org: org, repo: repo, refused: &refused)
        }
        return candidates
    }

    func scanHuggingFaceRepo(path repoPath: String, org: String, repo: String, refused: inout [RefusedEntry]) -> [Candidate] {
        guard let snapshot = Self.huggingFaceSnapshot(repoPath: repoPath) else { return [] }
        // The main snapshot, then the few others a ref names (ModelScanner+HubRepository.swift).
        var candidates = scanHuggingFaceSnapshot(snapshot, repoPath: repoPath, org: org, repo: repo, isMain: true, refused: &refused)
        for other in Self.huggingFaceRefSnapshots(repoPath: repoPath, main: snapshot.commit) {
            candidates += scanHuggingFaceSnapshot(other, repoPath: repoPath, org: org, repo: repo, isMain: false, refused: &refused)
        }
        return candidates
    }

    func scanHuggingFaceSnapshot(
        _ snapshot: (commit: String, path: String), repoPath: String, org: String, repo: String, isMain: Bool,
        refused: inout [RefusedEntry]
    ) -> [Candidate] {
        let repoID = org.isEmpty ? repo : org + "/" + repo
        let containment = SnapshotContainment(repoPath: repoPath, commit: snapshot.commit, snapshotPath: snapshot.path)
        let blobs = containment.blobsPrefix
        let walked = FileWalker.walk(snapshot.path, excluding: roots.excludedFolders, wholeSnapshot: true)
        let refs = Self.huggingFaceRefs(repoPath: repoPath, commit: snapshot.commit)
        // Ids name the snapshot's repository part with the commit's hash for a snapshot not main.
        let idRepo = Self.revisionRepo(repo, commit: snapshot.commit, isMain: isMain)
        let repositoryModelID = ModelIdentifier.sanitize(org.isEmpty ? idRepo : org + "--" + idRepo)
        // Entries resolving outside the repository's blobs are never offered (F12).
        let found = walked.filter(containment.admits)
        refused += walked.filter { !containment.admits($0) }.map {
            RefusedEntry(path: $0.path, target: $0.resolvedPath, repositoryModelID: repositoryModelID)
        }
        let paths = Set(found.map(\.relativePath))
        return found.map { found in
            let fileName = found.relativePath.split(separator: "/").last.map(String.init) ?? found.relativePath
            let blobName = found.resolvedPath.split(separator: "/").last.map(String.init) ?? ""
            let isLFSBlob = blobs.map { found.resolvedPath.hasPrefix($0) } == true && Self.isSHA256Hex(blobName)
            let sniffed = FormatSniffer.sniff(
                header: FormatSniffer.readHeader(path: found.resolvedPath),
                fileName: fileName,
                context: [repoID],
                category: nil
            )
            let file = ScannedFile(
                modelID: ModelIdentifier.huggingFace(org: org, repo: idRepo, path: found.relativePath),
                name: Self.huggingFaceName(repo: repo, relativePath: found.relativePath),
                path: found.resolvedPath,
                sizeBytes: found.status.size,
                modificationTimeNanos: found.status.modificationTimeNanos,
                inode: found.status.inode,
                device: found.status.device,
                format: sniffed.format,
                type: sniffed.type,
                source: "huggingface",
                sourceRef: repoID,
                version: String(snapshot.commit.prefix(12)),
                knownSHA256: isLFSBlob ? blobName : nil,
                metadata: [
                    "hf_repo": repoID,
                    "hf_path": found.relativePath,
                    "hf_revision": snapshot.commit,
                ],
                hub: HubFileFacts(
                    repoID: repoID, repositoryModelID: repositoryModelID, revision: snapshot.commit, refs: refs,
                    path: found.relativePath, blobID: Self.huggingFaceBlobID(resolvedPath: found.resolvedPath, blobsPrefix: blobs)),
                isStandalone: isMain && Self.isStandaloneHubFile(format: sniffed.format, path: found.relativePath, paths: paths)
            )
            return Candidate(rank: 1, origin: found.path, file: file)
        }
    }

    /// File stems that say nothing on their own ("model", "config", "model-00001-of-00002").
    static let genericStems: Set<String> = [
        "config", "generation_config", "tokenizer", "tokenizer_config", "special_tokens_map", "vocab",
        "merges", "preprocessor_config", "added_tokens", "readme", "license", "weights", "adapter_model",
        "adapter_config", "chat_template", "params",
    ]

    /// True when a file's stem says nothing on its own: "config", "model", "model-00001-of-00002".
    static func isGenericStem(_ fileName: String) -> Bool {
        let stem = Self.stem(of: fileName).lowercased()
        return genericStems.contains(stem)
            || ["model", "pytorch_model", "tf_model", "flax_model", "diffusion_pytorch_model", "openvino_model"]
                .contains { stem == $0 || stem.hasPrefix($0 + "-") || stem.hasPrefix($0 + ".") }
    }

    /// Human readable name: the file stem ("Qwen3-1.7B-Q4_K_M"), or "{repo}/{path without
    /// extension}" when the stem is generic ("all-MiniLM-L6-v2/model", "Qwen3-0.6B/config").
    static func huggingFaceName(repo: String, relativePath: String) -> String {
        let fileName = relativePath.split(separator: "/").last.map(String.init) ?? relativePath
        return isGenericStem(fileName) ? repo + "/" + Self.stem(ofPath: relativePath) : Self.stem(of: fileName)
    }
}
