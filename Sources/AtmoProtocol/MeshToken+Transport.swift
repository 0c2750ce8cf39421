import Foundation

extension MeshToken {
    /// The scheme and host of an invite link: `atmosphere://join?invite=...`.
    public static let inviteScheme = "atmosphere"
    /// The host (action) of an invite link.
    public static let inviteHost = "join"
    /// The query item carrying the token.
    public static let inviteQueryItem = "invite"

    /// The token's transport form: its JSON as base64url (RFC 4648 §5) without padding.
    public func transportString() throws -> String {
        Self.base64URLEncoded(try WireCoding.encode(self))
    }

    /// Reads a token from its transport form. Tolerates `=` padding and the standard
    /// alphabet (`+ /`) that some clients write; refuses anything else, and anything above
    /// `RelayLimits.maxTokenBytes`. The token's fields are checked as when it arrives inline.
    public init(transportString text: String) throws(WireError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count <= RelayLimits.maxTokenBytes else {
            throw WireError(.tooLarge, "token: longer than \(RelayLimits.maxTokenBytes) bytes")
        }
        guard let json = Self.lenientBase64Decoded(trimmed) else {
            throw WireError(.invalidValue, "token: not base64url")
        }
        self = try WireCoding.decode(MeshToken.self, from: json)
    }

    /// The invite link `atmosphere://join?invite={transportString}`.
    public func inviteLink() throws -> String {
        "\(Self.inviteScheme)://\(Self.inviteHost)?\(Self.inviteQueryItem)=\(try transportString())"
    }

    /// Reads the token of an invite link `atmosphere://join?invite=...` (other query items
    /// are ignored; a percent-encoded token is decoded first).
    public init(inviteLink link: String) throws(WireError) {
        guard link.utf8.count <= RelayLimits.maxTokenBytes + 256 else {
            throw WireError(.tooLarge, "invite: longer than \(RelayLimits.maxTokenBytes) bytes")
        }
        guard let components = URLComponents(string: link.trimmingCharacters(in: .whitespacesAndNewlines)),
            components.scheme?.lowercased() == Self.inviteScheme, components.host?.lowercased() == Self.inviteHost
        else {
            throw WireError(.invalidValue, "invite: not an \(Self.inviteScheme)://\(Self.inviteHost)?invite=... link")
        }
        guard let value = components.queryItems?.first(where: { $0.name == Self.inviteQueryItem })?.value, !value.isEmpty
        else {
            throw WireError(.missingField, "invite: the link has no '\(Self.inviteQueryItem)' parameter")
        }
        try self.init(transportString: value)
    }

    /// Base64url without padding.
    public static func base64URLEncoded(_ data: Data) -> String {
        var text = data.base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// Decodes base64url or standard base64, padded or not. Nil for any other character, a
    /// misplaced `=` or an impossible length.
    public static func lenientBase64Decoded(_ text: String) -> Data? {
        var body = Substring(text)
        var padding = 0
        while body.hasSuffix("=") {
            body.removeLast()
            padding += 1
        }
        guard padding <= 2, !body.isEmpty else { return nil }
        var standard = ""
        standard.reserveCapacity(body.utf8.count + 3)
        for byte in body.utf8 {
            switch byte {
            case UInt8(ascii: "-"), UInt8(ascii: "+"): standard += "+"
            case UInt8(ascii: "_"), UInt8(ascii: "/"): standard += "/"
            default:
                guard Validation.isAlphanumeric(byte) else { return nil }
                standard.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        let remainder = standard.utf8.count % 4
        guard remainder != 1, padding == 0 || padding == (4 - remainder) % 4 else { return nil }
        if remainder != 0 { standard += String(repeating: "=", count: 4 - remainder) }
        return Data(base64Encoded: standard)
    }
}
