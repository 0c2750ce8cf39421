/// How urgent a download of the node's queue is (the seed's four levels). A higher level
/// takes a download slot before a lower one, and a `critical` or `high` download that
/// finds every slot held by lower ones pauses the lowest (it resumes later from its
/// verified pieces). `normal` and `low` downloads are background transfers: they yield
/// bandwidth when the round trip to their peer rises.
public enum DownloadPriority: String, Sendable, Hashable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    /// Needed by inference that is waiting on it.
    case critical
    /// Asked for by a person (the default of `atmo pull` and of the API).
    case high
    /// Background sync.
    case normal
    /// Prefetch.
    case low

    /// The level a download gets when its request names none.
    public static let `default` = DownloadPriority.high

    /// 3 for `critical` down to 0 for `low`.
    public var rank: Int {
        switch self {
        case .critical: return 3
        case .high: return 2
        case .normal: return 1
        case .low: return 0
        }
    }

    /// Whether transfers at this level are background ones (`normal`, `low`).
    public var isBackground: Bool { rank < DownloadPriority.high.rank }

    /// Whether a download at this level may pause a running one of a lower level.
    public var preempts: Bool { rank >= DownloadPriority.high.rank }

    public static func < (lhs: DownloadPriority, rhs: DownloadPriority) -> Bool { lhs.rank < rhs.rank }

    /// The wire name (`"critical"`, `"high"`, `"normal"`, `"low"`).
    public var description: String { rawValue }
}
