import Foundation

/// The upstream's token (`atmo serve --upstream-token-file`, `"upstream_token_file"` in
/// config.json): a file holding one Hugging Face access token, read when the node starts.
/// Only an explicit file: `HF_TOKEN` in the node's environment is not used, since the node
/// lends whatever its token may read to every client of its LAN.
public enum HubUpstreamToken {
    /// The token in the file at `path`: surrounding whitespace dropped; it must be 1 to 1,024
    /// printable ASCII characters without spaces (a header value that cannot split a header).
    public static func read(path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigFileError(path: path, problem: "cannot be read (the upstream token file)")
        }
        guard data.count <= 4096 else { throw ConfigFileError(path: path, problem: "is larger than 4 KiB (one token expected)") }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, token.utf8.count <= 1024, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw ConfigFileError(path: path, problem: "does not hold one token (printable characters, no spaces)")
        }
        return token
    }
}
