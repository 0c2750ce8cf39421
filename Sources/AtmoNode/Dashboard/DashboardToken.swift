import AtmoStore
import Foundation

/// The token another machine presents to use a public dashboard (`atmo serve
/// --dashboard-public`): 32 random bytes in base64url, kept in `{state}/dashboard-token`
/// (mode 0600), made on first use and the same on every later run.
public enum DashboardToken {
    public static func path(stateDirectory: String) -> String { stateDirectory + "/dashboard-token" }

    /// The token of `stateDirectory`, made and saved if there is none yet (or the file does
    /// not hold a valid one).
    public static func loadOrCreate(stateDirectory: String) throws(StoreError) -> String {
        let path = path(stateDirectory: stateDirectory)
        if let token = read(path: path) {
            // Kept private even if someone widened the file's mode.
            _ = chmod(path, 0o600)
            return token
        }
        try FileIO.writeAtomically(Data((generate() + "\n").utf8), to: path, mode: 0o600)
        // Another process may have written its own at the same moment: the file decides.
        guard let token = read(path: path) else {
            throw StoreError(.corrupt, "\(path) does not hold a dashboard token after it was written")
        }
        return token
    }

    /// The token saved in `stateDirectory`, if any (for `atmo open`).
    public static func existing(stateDirectory: String) -> String? { read(path: path(stateDirectory: stateDirectory)) }

    /// 32 random bytes, base64url without padding (43 characters).
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func read(path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path), data.count < 1024 else { return nil }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let valid =
            token.count >= 32
            && token.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D
                    || byte == 0x5F
            }
        return valid ? token : nil
    }
}
