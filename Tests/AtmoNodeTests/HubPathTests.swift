import AtmoProtocol
import Testing

@testable import AtmoNode

/// `HubPath.parse`: the Hub's download paths as `huggingface_hub` writes them, and hostile
/// ones, with no I/O.
struct HubPathTests {
    static let commit = "0123456789abcdef0123456789abcdef01234567"

    @Test func infoPaths() {
        #expect(HubPath.parse(path: "/api/models/org/name", query: nil) == .request(.info(repoID: "org/name", revision: nil)))
        #expect(HubPath.parse(path: "/api/models/gpt2", query: nil) == .request(.info(repoID: "gpt2", revision: nil)))
        #expect(
            HubPath.parse(path: "/api/models/org/name/revision/main", query: "blobs=true")
                == .request(.info(repoID: "org/name", revision: "main")))
        #expect(HubPath.parse(path: "/api/models/gpt2/revision/v1.0", query: nil) == .request(.info(repoID: "gpt2", revision: "v1.0")))
        // The client quotes a revision with safe="": `refs/pr/1` is one segment.
        #expect(
            HubPath.parse(path: "/api/models/org/name/revision/refs%2Fpr%2F1", query: nil)
                == .request(.info(repoID: "org/name", revision: "refs/pr/1")))
        // A commit in capitals is the same commit.
        #expect(
            HubPath.parse(path: "/api/models/org/name/revision/" + Self.commit.uppercased(), query: nil)
                == .request(.info(repoID: "org/name", revision: Self.commit)))
    }

    @Test func treePaths() {
        #expect(
            HubPath.parse(path: "/api/models/org/name/tree/\(Self.commit)", query: "recursive=true&expand=false")
                == .request(.tree(repoID: "org/name", revision: Self.commit, path: nil, recursive: true)))
        #expect(
            HubPath.parse(path: "/api/models/gpt2/tree/main/onnx", query: "recursive=False")
                == .request(.tree(repoID: "gpt2", revision: "main", path: "onnx", recursive: false)))
        #expect(
            HubPath.parse(path: "/api/models/org/name/tree/main/a%2Fb", query: nil)
                == .request(.tree(repoID: "org/name", revision: "main", path: "a/b", recursive: false)))
    }

    @Test func resolvePaths() {
        #expect(
            HubPath.parse(path: "/org/name/resolve/main/config.json", query: nil)
                == .request(.resolve(repoID: "org/name", revision: "main", path: "config.json")))
        #expect(
            HubPath.parse(path: "/gpt2/resolve/\(Self.commit)/onnx/model.onnx", query: "download=true")
                == .request(.resolve(repoID: "gpt2", revision: Self.commit, path: "onnx/model.onnx")))
        // `quote(filename)`: spaces and non-ASCII letters arrive percent-encoded.
        #expect(
            HubPath.parse(path: "/org/name/resolve/main/my%20file%C3%A9.txt", query: nil)
                == .request(.resolve(repoID: "org/name", revision: "main", path: "my fileé.txt")))
    }

    @Test func theNodesOwnPathsAreNotHubPaths() {
        for path in [
            "/health", "/v1/models", "/v1/models/download/x", "/v1/mesh/models", "/v1/pieces/abc/have", "/", "", "api",
            "/api", "/api/models", "/api/whoami-v2", "/org/name/blob/main/x", "/org/name/raw/main/x",
        ] {
            #expect(HubPath.parse(path: path, query: nil) == .notHub, "\(path)")
        }
    }

    @Test func otherRepositoryTypesAreNotFound() {
        #expect(HubPath.parse(path: "/api/datasets/org/name/revision/main", query: nil) == .repositoryNotFound)
        #expect(HubPath.parse(path: "/api/spaces/org/name", query: nil) == .repositoryNotFound)
    }

    /// Ids the Hub would refuse never reach a lookup, however they are encoded.
    @Test func hostileRepositoryIDs() {
        for path in [
            "/api/models/../etc", "/api/models/%2E%2E/x", "/api/models/a--b", "/api/models/org/na%2Fme/revision/main",
            "/api/models/org/n%00me", "/api/models/a/b/c", "/api/models/-x/revision/main", "/api/models/x%ZZ",
            "/api/models/x%", "/api/models/" + String(repeating: "a", count: 97), "/api/models/org/name.git",
            "/..%2F/resolve/main/x", "/a/b%2Fc/resolve/main/x", "/%C0%AE%C0%AE/resolve/main/x",
        ] {
            #expect(HubPath.parse(path: path, query: nil) == .repositoryNotFound, "\(path)")
        }
    }

    /// A refused revision is named in the answer as the client sent it (decoded, anything
    /// outside printable ASCII escaped, at most 100 characters): hostile review dec07h F1.
    @Test func hostileRevisions() {
        let cases: [(String, String)] = [
            ("..", ".."), ("%2E%2E", ".."), (".hidden", ".hidden"), ("a%00b", "a%00b"), ("refs%2F..%2Fx", "refs/../x"),
            ("", "(empty)"), ("a%5Cb", "a\\b"), ("%c3%a9", "%C3%A9"), ("v%7f", "v%7F"), ("v%09x", "v%09x"), ("%ZZ", "%ZZ"),
            (String(repeating: "v", count: 300), String(repeating: "v", count: 100) + "..."),
        ]
        for (revision, shown) in cases {
            #expect(
                HubPath.parse(path: "/org/name/resolve/\(revision)/config.json", query: nil)
                    == .revisionNotFound(repoID: "org/name", revision: shown), "\(revision)")
            #expect(
                HubPath.parse(path: "/api/models/org/name/revision/\(revision)", query: nil)
                    == .revisionNotFound(repoID: "org/name", revision: shown), "\(revision)")
        }
    }

    /// Repositories named like a keyword (`tree`, `revision`, `resolve`): a keyword is
    /// followed by a revision, as in the Hub's URLs, so a last segment is a name
    /// (hostile review dec07h F8); where both readings exist, the `org/name` one.
    @Test func repositoriesNamedLikeKeywords() {
        #expect(HubPath.parse(path: "/api/models/acme/tree", query: nil) == .request(.info(repoID: "acme/tree", revision: nil)))
        #expect(
            HubPath.parse(path: "/api/models/acme/revision", query: nil) == .request(.info(repoID: "acme/revision", revision: nil)))
        #expect(
            HubPath.parse(path: "/api/models/acme/tree/revision/main", query: nil)
                == .request(.info(repoID: "acme/tree", revision: "main")))
        #expect(
            HubPath.parse(path: "/api/models/acme/revision/revision/v1", query: nil)
                == .request(.info(repoID: "acme/revision", revision: "v1")))
        #expect(
            HubPath.parse(path: "/api/models/acme/tree/tree/main", query: "recursive=true")
                == .request(.tree(repoID: "acme/tree", revision: "main", path: nil, recursive: true)))
        #expect(
            HubPath.parse(path: "/acme/tree/resolve/main/f.txt", query: nil)
                == .request(.resolve(repoID: "acme/tree", revision: "main", path: "f.txt")))
        #expect(
            HubPath.parse(path: "/acme/resolve/resolve/main/f.txt", query: nil)
                == .request(.resolve(repoID: "acme/resolve", revision: "main", path: "f.txt")))
        // An org-less repository: its keyword has a revision after it.
        #expect(
            HubPath.parse(path: "/api/models/gpt2/tree/main/tree/x", query: nil)
                == .request(.tree(repoID: "gpt2", revision: "main", path: "tree/x", recursive: false)))
        #expect(
            HubPath.parse(path: "/api/models/acme/tree/revision", query: nil)
                == .request(.tree(repoID: "acme", revision: "revision", path: nil, recursive: false)))
        // A keyword that ends the path where no repository id can: no revision was named.
        #expect(
            HubPath.parse(path: "/api/models/org/name/tree", query: nil) == .revisionNotFound(repoID: "org/name", revision: "(empty)"))
        #expect(HubPath.parse(path: "/org/name/resolve", query: nil) == .revisionNotFound(repoID: "org/name", revision: "(empty)"))
        #expect(HubPath.parse(path: "/gpt2/resolve", query: nil) == .revisionNotFound(repoID: "gpt2", revision: "(empty)"))
    }

    /// A file path that could leave the snapshot folder is never looked up.
    @Test func hostileFilePaths() {
        for path in [
            "../x", "a/../../x", "%2E%2E/x", "a/%2e%2e/b", "./x", "a//b", "a/", "x%00y", "a%5C..%5Cb", "%2Fetc/passwd", "x%1F",
            "a%ZZ", String(repeating: "a", count: 1025),
        ] {
            #expect(
                HubPath.parse(path: "/org/name/resolve/main/" + path, query: nil) == .entryNotFound(repoID: "org/name", revision: "main"),
                "\(path)")
        }
        #expect(HubPath.parse(path: "/org/name/resolve/main", query: nil) == .entryNotFound(repoID: "org/name", revision: "main"))
        #expect(
            HubPath.parse(path: "/api/models/org/name/tree/main/..", query: nil) == .entryNotFound(repoID: "org/name", revision: "main"))
    }

    @Test func percentDecoding() {
        #expect(HubPath.percentDecoded("a%20b%2fc") == "a b/c")
        #expect(HubPath.percentDecoded("a+b") == "a+b")
        #expect(HubPath.percentDecoded("%") == nil)
        #expect(HubPath.percentDecoded("%4") == nil)
        #expect(HubPath.percentDecoded("%FF") == nil)  // not UTF-8
    }
}
