/// A message or value from the wire that this node refuses, with a reason a person can act on.
///
/// Codes are a closed set today but may grow, so `Code` is a struct, not a public enum.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
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
        public static let invalidModelID = Code(wrapped: .invalidModelID)
        public static let invalidSHA256 = Code(wrapped: .invalidSHA256)
        public static let invalidValue = Code(wrapped: .invalidValue)
        public static let missingField = Code(wrapped: .missingField)
        public static let tooLarge = Code(wrapped: .tooLarge)
        public static let malformedJSON = Code(wrapped: .malformedJSON)
        public var description: String { wrapped.rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
