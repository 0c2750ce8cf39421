/// The checks applied to identifiers and hashes received from peers.
public enum Validation {
    /// A `model_id` is 1-200 characters of `A-Z a-z 0-9 . _ -`, starts with a letter or digit
    /// and never contains `..`. This excludes `/`, `\`, `%`, NUL, control characters and
    /// every other way to name a path outside the inventory.
    public static func isValidModelID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard !bytes.isEmpty, bytes.count <= WireLimits.maxModelIDLength else { return false }
        guard isAlphanumeric(bytes[0]) else { return false }
        var previousWasDot = false
        for byte in bytes {
            let isDot = byte == UInt8(ascii: ".")
            guard isAlphanumeric(byte) || isDot || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") else {
                return false
            }
            if isDot && previousWasDot { return false }
            previousWasDot = isDot
        }
        return true
    }

    /// Throws `invalidModelID` with the reason when `id` is not acceptable.
    public static func checkModelID(_ id: String) throws(WireError) {
        guard isValidModelID(id) else {
            throw WireError(
                .invalidModelID,
                "model_id must be 1-\(WireLimits.maxModelIDLength) characters of A-Z a-z 0-9 . _ -, start with a letter or digit and not contain '..'"
            )
        }
    }

    /// A SHA-256 on the wire is exactly 64 lowercase hex characters.
    public static func isValidSHA256(_ hex: String) -> Bool {
        let bytes = Array(hex.utf8)
        return bytes.count == 64 && bytes.allSatisfy { isDigit($0) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }
    }

    /// A model `format` is empty (unknown) or 1-16 characters of `a-z 0-9`: it becomes a file
    /// extension, so it must never carry a `/`, a `.` or anything else a path could use.
    public static func isValidFormat(_ format: String) -> Bool {
        let bytes = Array(format.utf8)
        return bytes.count <= WireLimits.maxFormatLength
            && bytes.allSatisfy { isDigit($0) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) }
    }

    /// A transfer endpoint is an `http://` or `https://` URL of printable ASCII without spaces:
    /// a peer must not steer our HTTP client to another scheme (such as `http+unix`).
    public static func isValidHTTPEndpoint(_ url: String) -> Bool {
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else { return false }
        let host = lower.drop(while: { $0 != "/" }).dropFirst(2)
        guard let first = host.first, first != "/", first != "?", first != "#" else { return false }
        return url.utf8.count <= WireLimits.maxStringLength && url.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }
    }

    /// Node ids are opaque, but bounded and printable.
    public static func isValidNodeID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && id.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }
    }

    /// Standard base64 (RFC 4648 §4) with padding: a multiple of 4 characters of
    /// `A-Z a-z 0-9 + /`, then at most two `=` at the very end.
    public static func isStrictBase64(_ text: String) -> Bool {
        let bytes = text.utf8
        guard bytes.count % 4 == 0 else { return false }
        var padding = 0
        for byte in bytes {
            if byte == UInt8(ascii: "=") {
                padding += 1
            } else if padding > 0 || !(isAlphanumeric(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")) {
                return false
            }
        }
        return padding <= 2
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
