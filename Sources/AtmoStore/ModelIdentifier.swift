// Model ids for scanned files.
//
// Scheme (readable, stable across restarts, one id per file):
//   Hugging Face  `{org}--{repo}--{path in the snapshot, "/" -> "--"}` keeping the file name and
//                 extension, e.g. `unsloth--Qwen3-1.7B-GGUF--Qwen3-1.7B-Q4_K_M.gguf`; a repo
//                 without an org (`models--gpt2`) gives `gpt2--{path}`.
//   LlamaFarm     `models/{category}/{folder}/...`: the folder name alone when the folder holds
//                 exactly one file named `model.*` (that file), e.g. `yolov8n_20240208_101500`;
//                 every other file is `{folder}--{path inside the folder, "/" -> "--"}`. Files
//                 directly in a category folder use the category as folder; files directly in
//                 the models root use their name.
//   Extra folder  the path relative to the folder, "/" -> "--".
//   Pulled        the `model_id` recorded in the sidecar json.
// Every id then goes through ``ModelIdentifier/sanitize(_:)``: characters outside
// `[A-Za-z0-9._-]` become "_", runs of dots collapse to one, leading characters that are not a
// letter or digit are dropped, and, whenever any of that changed the string or it is longer than
// 200 characters, "-" + the first 8 hex digits of SHA-256(original) is appended (the stem cut so
// the whole fits 200), so two different originals never meet on the same sanitised id.
// The result always matches the wire rule `^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$` without "..".
//
// Known limit: "/" and "--" both become "--", so `a--b/c` and `a/b--c` in the same repo meet;
// HF forbids "--" in org and repo names, so only paths inside one repo can meet this way, and
// the scanner suffixes the second of any two equal ids (see `ModelScanner.disambiguate`).

import AtmoProtocol
import Crypto
import Foundation

/// Builds and checks model ids (see the file header for the scheme).
package enum ModelIdentifier {
    /// Longest id the wire accepts (the check itself is `Validation.isValidModelID`).
    package static let maxLength = WireLimits.maxModelIDLength

    /// Turns any string into a valid id, unchanged when it already is one.
    package static func sanitize(_ raw: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in raw.unicodeScalars {
            let mapped: Unicode.Scalar = isAllowed(scalar) ? scalar : "_"
            if mapped == ".", scalars.last == "." { continue }
            scalars.append(mapped)
        }
        while let first = scalars.first, !isAlphanumeric(first) {
            scalars.removeFirst()
        }
        var result = String(scalars)
        if result.isEmpty {
            result = "model"
        }
        guard result != raw || result.unicodeScalars.count > maxLength else { return result }
        return appending(shortHash(raw), to: result)
    }

    /// Hugging Face file: `{org}--{repo}--{path with "/" -> "--"}`, or `{repo}--{path}` without an org.
    package static func huggingFace(org: String, repo: String, path: String) -> String {
        var parts = org.isEmpty ? [] : [org]
        parts.append(repo)
        parts.append(contentsOf: pathComponents(path))
        return sanitize(parts.joined(separator: "--"))
    }

    /// LlamaFarm file.
    /// - Parameters:
    ///   - folder: the model folder (`yolov8n_20240208_101500`), the category for files directly
    ///     inside a category folder, nil for files directly in the models root.
    ///   - relativePath: the path inside `folder` (or inside the root when `folder` is nil).
    ///   - isSoleModelFile: the file is the only `model.*` file of its folder.
    package static func llamaFarm(folder: String?, relativePath: String, isSoleModelFile: Bool) -> String {
        guard let folder, !folder.isEmpty else {
            return sanitize(pathComponents(relativePath).joined(separator: "--"))
        }
        if isSoleModelFile {
            return sanitize(folder)
        }
        return sanitize(([folder] + pathComponents(relativePath)).joined(separator: "--"))
    }

    /// File in an extra folder: its relative path with "/" -> "--".
    package static func extraFolder(relativePath: String) -> String {
        sanitize(pathComponents(relativePath).joined(separator: "--"))
    }

    /// A valid id plus "-{suffix}", the id cut so the whole stays within ``maxLength``.
    /// `suffix` must consist of allowed characters.
    package static func appending(_ suffix: String, to id: String) -> String {
        let room = max(1, maxLength - suffix.unicodeScalars.count - 1)
        var stem = String(String.UnicodeScalarView(id.unicodeScalars.prefix(room)))
        // The cut may leave a trailing "." that would meet nothing ("-" follows), but keep the
        // stem non-empty and starting with a letter or digit.
        if stem.isEmpty { stem = "model" }
        return stem + "-" + suffix
    }

    /// First 8 lowercase hex digits of SHA-256 of the string's UTF-8 bytes.
    package static func shortHash(_ text: String) -> String {
        let digest = SHA256.hash(data: Data(text.utf8))
        return digest.prefix(4).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    static func pathComponents(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
    }

    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        isAlphanumeric(scalar) || scalar == "." || scalar == "_" || scalar == "-"
    }
}
