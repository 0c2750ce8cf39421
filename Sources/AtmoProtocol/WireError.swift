/// A message or value from the wire that this node refuses, with a reason a person can act on.
///
/// Codes are a closed set today but may grow, so `Code` is a struct, not a public enum.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of refusal this is; `description` is the snake_case wire name.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Wrapped: String, Sendable, Hashable {
            case invalidModelID = "invalid_model_id"
            case invalidSHA256 = "invalid_sha256"
            case invalidValue = "invalid_value"
            case missingField = "missing_field"
            case tooLarge = "too_large"
            case malformedJSON = "malformed_json"
        }
        let wrapped: Wrapped
        /// A `model_id` outside `Validation.isValidModelID`.
        public static let invalidModelID = Code(wrapped: .invalidModelID)
        /// A SHA-256 that is not 64 hex characters.
        public static let invalidSHA256 = Code(wrapped: .invalidSHA256)
        /// A field of the wrong type or out of range.
        public static let invalidValue = Code(wrapped: .invalidValue)
        /// A required field is absent or null (including a message's `type`).
        public static let missingField = Code(wrapped: .missingField)
        /// A message, string, array or chunk over its `WireLimits` bound.
        public static let tooLarge = Code(wrapped: .tooLarge)
        /// Not JSON, or not a JSON object.
        public static let malformedJSON = Code(wrapped: .malformedJSON)
        public var description: String { wrapped.rawValue }
    }

    /// The kind of refusal.
    public var code: Code
    /// What was wrong, starting with the field's path (`models[2].sha256: ...`).
    public var message: String

    /// An error of `code` explaining `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
