extension MeshInvite {
    /// Reads a token lifetime written as a person would: a number and a unit (`s`, `m`,
    /// `h`, `d`), or several of them (`1d12h`, `90m`, `2h30m`). Returns seconds, which must be
    /// positive and at most `maxLifetime` (7 days, `RelayLimits.maxTokenLifetime`).
    public static func parseLifetime(
        _ text: String, maxLifetime: Int64 = RelayLimits.maxTokenLifetime
    ) throws(WireError) -> Int64 {
        let examples = "e.g. 30m, 24h or 7d"
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !trimmed.isEmpty, trimmed.utf8.count <= 32 else {
            throw WireError(.invalidValue, "'\(text)' is not a duration (\(examples))")
        }
        var total: Int64 = 0
        var digits = ""
        for character in trimmed {
            if character.isASCII, character.isWholeNumber {
                digits.append(character)
                guard digits.count <= 9 else { throw WireError(.invalidValue, "'\(text)' is too long a duration (\(examples))") }
                continue
            }
            guard let unit = unitSeconds[character] else {
                throw WireError(.invalidValue, "'\(text)' is not a duration: unknown unit '\(character)' (\(examples))")
            }
            guard let value = Int64(digits) else {
                throw WireError(.invalidValue, "'\(text)' is not a duration: a number must come before '\(character)' (\(examples))")
            }
            total += value * unit
            digits = ""
        }
        guard digits.isEmpty else {
            throw WireError(.invalidValue, "'\(text)' needs a unit: s, m, h or d (\(examples))")
        }
        guard total > 0 else { throw WireError(.invalidValue, "the duration '\(text)' must be longer than 0") }
        guard total <= maxLifetime else {
            throw WireError(
                .invalidValue, "'\(text)' is longer than the maximum token lifetime of \(formatLifetime(maxLifetime))")
        }
        return total
    }

    /// A lifetime in the largest units that divide it exactly: `7d`, `24h` (not `1d`, which
    /// reads less clearly for the default), `1d12h`, `90m` is `1h30m`, `45s`.
    public static func formatLifetime(_ seconds: Int64) -> String {
        guard seconds > 0 else { return "0s" }
        var rest = seconds
        var text = ""
        let days = rest / 86_400
        if days > 0, rest != 86_400 {
            text += "\(days)d"
            rest %= 86_400
        }
        for (unit, size) in [("h", Int64(3600)), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }

    private static let unitSeconds: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
}
