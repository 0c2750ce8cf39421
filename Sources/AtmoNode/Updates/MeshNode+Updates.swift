import AtmoProtocol
import AtmoStore

/// Model updates for apps embedding a node (the same as `atmo follow`, `atmo unfollow`,
/// `atmo follows`, `atmo update`, `atmo rollback` and `UpdatesAPI`).
extension MeshNode {
    /// Follows `modelID`: newer versions are pulled at normal priority (`mode` `auto`) or
    /// shown in `updates()` (`prompt`).
    @discardableResult
    public func follow(modelID: String, mode: String = "auto") async throws -> UpdatesAPI.Follow {
        let updates = self.updates
        return try await BlockingIO.run { try updates.follow(UpdatesAPI.FollowRequest(modelID: modelID, mode: mode)) }
    }

    /// Stops following `modelID`; false when it was not followed.
    @discardableResult
    public func unfollow(modelID: String) async throws -> Bool {
        let updates = self.updates
        return try await BlockingIO.run { try updates.unfollow(modelID) }
    }

    /// Every followed id and where it stands.
    public func follows() async throws -> [UpdatesAPI.Follow] {
        let updates = self.updates
        return try await BlockingIO.run { try updates.follows() }
    }

    /// The newer versions waiting for a person (mode `prompt`).
    public func availableUpdates() -> [UpdatesAPI.Update] { updates.updates() }

    /// Pulls the waiting update of `modelID`; nil when none waits.
    public func acceptUpdate(modelID: String) async throws -> UpdatesAPI.Accepted? {
        let updates = self.updates
        return try await BlockingIO.run { try updates.accept(modelID) }
    }

    /// Puts back the version an update replaced.
    public func rollBack(modelID: String) async throws -> UpdatesAPI.RolledBack {
        let updates = self.updates
        return try await BlockingIO.run { try updates.rollBack(modelID) }
    }
}
