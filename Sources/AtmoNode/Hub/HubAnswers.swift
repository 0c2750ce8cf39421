import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The Hub endpoint's answers: JSON with the Hub's field names, and the Hub's not-found
/// answers (status 404, `X-Error-Code`, `X-Error-Message` and `{"error": ...}`), which
/// `huggingface_hub` turns into `RepositoryNotFoundError`, `RevisionNotFoundError` and
/// `EntryNotFoundError` by the code alone.
enum HubAnswers {
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let data = HubBodies.encode(value)
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.contentLength] = String(data.count)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func repositoryNotFound() -> Response {
        error(code: "RepoNotFound", message: "Repository not found")
    }

    static func revisionNotFound(_ revision: String?) -> Response {
        error(code: "RevisionNotFound", message: "Invalid rev id: \(revision ?? "main")")
    }

    /// `commit` goes out as `X-Repo-Commit`, so the client records the file as missing in
    /// that commit (its cache's `.no_exist`) as it does for the Hub.
    static func entryNotFound(commit: String?) -> Response {
        var headers = HTTPFields()
        if let commit { headers[.repoCommit] = commit }
        return error(code: "EntryNotFound", message: "Entry not found", headers: headers)
    }

    /// 503 with `Retry-After` while the node's first scan has not listed its folders: a
    /// restarting node must not tell a client that a repository is gone.
    static func stillScanning() -> Response {
        var headers = HTTPFields()
        headers[.retryAfter] = "1"
        return json(
            HubBodies.ErrorBody(error: "This node is still scanning its models; retry shortly"), status: .serviceUnavailable,
            headers: headers)
    }

    private static func error(code: String, message: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.errorCode] = code
        fields[.errorMessage] = message
        return json(HubBodies.ErrorBody(error: message), status: .notFound, headers: fields)
    }
}

extension HTTPField.Name {
    static let repoCommit = HTTPField.Name("X-Repo-Commit")!
    static let linkedETag = HTTPField.Name("X-Linked-Etag")!
    static let linkedSize = HTTPField.Name("X-Linked-Size")!
    static let errorCode = HTTPField.Name("X-Error-Code")!
    static let errorMessage = HTTPField.Name("X-Error-Message")!
}
