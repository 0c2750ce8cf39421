import ArgumentParser
import AtmoMesh
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

/// `atmo pull org/name --revision REV`: one revision of a repository, named by a branch, a
/// tag or a full commit. A node holding a tag beside another `main` offers that commit under
/// a hashed id (`{org}--{name}-{hash}`); the mesh's rows (one per commit, refs joined) find
/// it by the repository and the ref, and the pull goes on by the row's id and commit.
extension PullCommand {
    /// Which entries a repository pull takes: its id, and with `--revision` its revision.
    struct RevisionMatch: Sendable {
        /// As typed: `org/name` or a model id.
        var asked: String
        /// `org--name` (or the model id).
        var id: String
        var revision: String?

        /// Whether `entry` is of the repository asked for: by its id, or (with a revision) by
        /// its repository id, whatever id its node gives it.
        func isAsked(_ entry: RepositoryEntry) -> Bool {
            if entry.modelID == id { return true }
            guard revision != nil else { return false }
            return asked.contains("/") ? entry.repoID == asked : entry.repoID.replacingOccurrences(of: "/", with: "--") == id
        }

        /// Whether `entry` is at the revision (its commit, or one of its refs); any entry without one.
        func isAt(_ entry: RepositoryEntry) -> Bool {
            guard let revision else { return true }
            return entry.revision == revision || entry.refs.contains(revision)
        }

        /// The rows of the repository some node offers, and the one at the revision: among
        /// the commits it names, the one the most nodes offer.
        func pick(_ rows: [MeshAPI.Repository]) -> (known: [RepositoryEntry], row: MeshAPI.Repository?) {
            let known = rows.filter { isAsked($0.repository) && !$0.providers.isEmpty }
            return (known.map(\.repository), known.filter { isAt($0.repository) }.max { $0.providers.count < $1.providers.count })
        }
    }

    var revisionMatch: RevisionMatch { RevisionMatch(asked: modelID, id: repositoryModelID, revision: revision) }

    /// `--revision` checked before anything runs.
    func validateRevision() throws {
        guard let revision else { return }
        guard Validation.isValidRevision(revision) || HubCache.isValidRefName(revision) else {
            throw ValidationError("--revision takes a branch, a tag or a full commit (40 hex digits), not '\(revision)'")
        }
    }

    /// The id and commit the running node pulls: with `--revision`, those of the mesh's row
    /// at that revision (exits when there is none); else the id asked for, any commit.
    func pinnedRepository(_ node: LocalNodeClient) async -> (modelID: String, revision: String?) {
        guard revision != nil else { return (repositoryModelID, nil) }
        let rows = (try? await node.get(MeshAPI.repositoriesPath, as: MeshAPI.RepositoryList.self))?.repositories ?? []
        let (known, row) = revisionMatch.pick(rows)
        guard let row else {
            let error = Self.noSuchRevision(known, asked: modelID, revision: revision ?? "main")
            // Nothing of that repository offered, and catalogs refused lately: one of them may have offered it.
            let hint = error.code == .notOffered && known.isEmpty ? await refusalHint(node) : ""
            Failure(message: error.message + hint, exitCode: error.exitCode).exit(json: json, code: error.code.description)
        }
        return (row.repository.modelID, row.repository.revision)
    }

    /// Why no node offers the repository at `revision`: a usage error (`invalid_request`)
    /// when the mesh has no repository of that id (a single-file model has no revisions),
    /// else `not_offered`, naming the revisions offered.
    static func noSuchRevision(_ known: [RepositoryEntry], asked: String, revision: String) -> TransferError {
        guard !known.isEmpty else {
            if !asked.contains("/") {
                return TransferError(
                    .invalidRequest,
                    "--revision applies to a repository (org/name), and the mesh has no repository \(asked): "
                        + "a single-file model has no revisions (pull it by its id; --sha256 names one version)")
            }
            return TransferError(.notOffered, "no node of the mesh offers the repository \(asked) (see `atmo models`)")
        }
        let offered = Set(known.map { ([String($0.revision.prefix(12))] + $0.refs.sorted()).joined(separator: " ") }).sorted()
        return TransferError(
            .notOffered, "no node of the mesh offers \(asked) at revision \(revision) (offered: \(offered.prefix(8).joined(separator: "; ")))")
    }

    func noSuchRevision(_ known: [RepositoryEntry]) -> Never {
        let error = Self.noSuchRevision(known, asked: modelID, revision: revision ?? "main")
        Failure(message: error.message, exitCode: error.exitCode).exit(json: json, code: error.code.description)
    }

    /// The repository the in-process node finds (nil: not yet): by id, or at the revision.
    static func offered(by node: MeshNode, _ match: RevisionMatch) -> RepositoryEntry? {
        guard match.revision != nil else { return node.repositories(id: match.id).first?.entry }
        guard let row = match.pick(node.repositories(matching: MeshQuery())).row else { return nil }
        return node.repositories(id: row.repository.modelID).first { $0.entry.revision == row.repository.revision }?.entry
    }

    /// Why the in-process node found nothing to pull.
    static func notFound(by node: MeshNode, _ match: RevisionMatch, searched: String) -> TransferError {
        guard let revision = match.revision else {
            return TransferError(.notOffered, "no node of the mesh offers the repository \(match.asked) (\(searched))")
        }
        let error = noSuchRevision(match.pick(node.repositories(matching: MeshQuery())).known, asked: match.asked, revision: revision)
        return TransferError(error.code, error.message + " (\(searched))")
    }
}
