/// Text that others control (a node's answers, a peer's name or address, model names
/// gossiped through the mesh) as it may be printed on a terminal: the one place that cleans
/// it, so no escape sequence retitles the window, clears the screen or forges a row.
enum TerminalText {
    /// The longest text `clean` keeps by default (error reasons, addresses).
    static let defaultLimit = 160

    /// `text` with every control or format character (ESC, BEL, `\r`, `\n`, bidi overrides)
    /// as `?`, at most `limit` characters (then `...`). Looks at no more than `limit + 1`
    /// scalars of it, however long it is.
    static func clean(_ text: String, limit: Int = defaultLimit) -> String {
        var printable = String.UnicodeScalarView()
        var count = 0
        for scalar in text.unicodeScalars {
            guard count < limit else { return String(printable) + "..." }
            printable.append(isPrintable(scalar) ? scalar : "?")
            count += 1
        }
        return String(printable)
    }

    /// Whether `scalar` prints as itself: no control, format, separator, surrogate, private
    /// or unassigned code point.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if (0x20..<0x7F).contains(scalar.value) { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: return false
        default: return true
        }
    }
}
