/// How two catalog `version` strings of one model id compare (docs/PROTOCOL.md, "Model
/// updates"). Pure; every input is a stranger's string, so parsing is bounded.
///
/// A version is *ordered* when it is numbers separated by dots, with an optional leading
/// `v` and an optional semver pre-release or build suffix: `1.2.3`, `v2.0.0-rc.1`,
/// `2024.02.08.001` (dated), `2026.12.07.031512` (this project's file-mtime versions).
/// Two ordered versions compare number by number (missing numbers count as 0), and a
/// pre-release comes before its release (`1.0.0-rc.1` < `1.0.0`; two pre-releases of one
/// release compare as text). Anything else (a Hugging Face commit prefix such as `3f2a9c1b`,
/// free text, an empty string, more than `maxComponents` numbers, a number of more than
/// `maxDigits` digits) is *unordered*: the version says nothing about which is newer.
public enum ModelVersionOrder: Sendable, Hashable {
    /// The first version is older than the second.
    case older
    /// Both name the same release.
    case same
    /// The first version is newer than the second.
    case newer
    /// At least one of them is not an ordered version.
    case unordered

    /// Longest version string read (longer: unordered).
    public static let maxLength = 64
    /// Most dot-separated numbers read.
    public static let maxComponents = 8
    /// Most digits per number (fits in an `Int64`).
    public static let maxDigits = 18

    /// How `a` compares with `b`.
    public static func compare(_ a: String, _ b: String) -> ModelVersionOrder {
        guard let left = Parsed(a), let right = Parsed(b) else { return .unordered }
        let count = max(left.numbers.count, right.numbers.count)
        for index in 0..<count {
            let x = index < left.numbers.count ? left.numbers[index] : 0
            let y = index < right.numbers.count ? right.numbers[index] : 0
            if x != y { return x < y ? .older : .newer }
        }
        switch (left.preRelease, right.preRelease) {
        case (nil, nil): return .same
        case (nil, _?): return .newer
        case (_?, nil): return .older
        case (let x?, let y?): return x == y ? .same : (x < y ? .older : .newer)
        }
    }

    /// Whether `version` is an ordered version.
    public static func isOrdered(_ version: String) -> Bool { Parsed(version) != nil }

    /// An ordered version's numbers and pre-release text.
    struct Parsed: Hashable {
        var numbers: [Int64]
        var preRelease: String?

        init?(_ text: String) {
            guard !text.isEmpty, text.utf8.count <= ModelVersionOrder.maxLength else { return nil }
            var core = Substring(text)
            if core.first == "v" || core.first == "V" { core = core.dropFirst() }
            // Build metadata never orders (semver §10).
            if let plus = core.firstIndex(of: "+") { core = core[..<plus] }
            var preRelease: String? = nil
            if let dash = core.firstIndex(of: "-") {
                let suffix = core[core.index(after: dash)...]
                guard !suffix.isEmpty else { return nil }
                preRelease = String(suffix)
                core = core[..<dash]
            }
            let parts = core.split(separator: ".", omittingEmptySubsequences: false)
            guard !parts.isEmpty, parts.count <= ModelVersionOrder.maxComponents else { return nil }
            var numbers: [Int64] = []
            for part in parts {
                guard !part.isEmpty, part.count <= ModelVersionOrder.maxDigits, part.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                    let value = Int64(part)
                else { return nil }
                numbers.append(value)
            }
            self.numbers = numbers
            self.preRelease = preRelease
        }
    }
}
