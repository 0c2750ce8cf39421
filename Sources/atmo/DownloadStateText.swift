import AtmoProtocol
import AtmoTransfer

/// How the CLI tells a person about a download's state (`atmo downloads`, `atmo pull`
/// following a download of the node).
extension DownloadAPI.State {
    /// The `STATE` column of `atmo downloads`: the wire name, with a newer node's state
    /// marked as one this version does not know.
    var columnText: String { isKnown ? wireName : "\(wireName) (unknown state)" }

    /// A line for a download that is not moving yet (queued, waiting, or a state this
    /// version does not know); nil for the others, which the progress bar shows.
    func note(modelID: String) -> String? {
        switch known {
        case .queued:
            return "\(modelID): queued; it starts when another download of the node ends (`atmo downloads` lists them)"
        case .waiting:
            return "\(modelID): waiting for a node of the mesh to offer it again; `atmo cancel \(modelID)` gives up"
        case nil:
            return "\(modelID): the node says '\(wireName)', a state this version of atmo does not know"
        default:
            return nil
        }
    }

    /// The pull phase shown for this state.
    var pullPhase: PullProgress.Phase {
        switch known {
        case .downloading: return .downloading
        case .verifying: return .verifying
        case .installing: return .installing
        case .completed: return .completed
        default: return .preparing
        }
    }
}
