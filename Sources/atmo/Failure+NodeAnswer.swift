import AtmoTransfer

extension Failure {
    /// The failure of a command on one model (a follow, a pin, an update, a rollback) that
    /// the running node refused: its 404 (no such model, follow or pin) is "not found"
    /// (exit 4, code `not_found`) whatever code it carried; any other error as `init(_:)`
    /// maps it.
    init(nodeAnswer error: any Error) {
        if let answer = error as? LocalNodeError, answer.status == 404 {
            self.init(message: answer.message, exitCode: ExitStatus.notFound, code: "not_found")
        } else {
            self.init(error)
        }
    }
}
