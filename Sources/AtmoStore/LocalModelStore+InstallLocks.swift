import AtmoProtocol
import Foundation

extension LocalModelStore {
    /// Removes the install lock file of `modelID` (`.atmo-partial/{model_id}.install.lock`)
    /// when no install, removal or eviction of that id holds or waits on it; one that does
    /// keeps it (`FileIO.removeLockFile`). Returns whether it is gone. Blocking.
    @discardableResult
    package func removeInstallLock(modelID: String) -> Bool {
        guard Validation.isValidModelID(modelID) else { return false }
        return FileIO.removeLockFile(installLockPath(modelID: modelID))
    }
}
