import AtmoProtocol

extension TransferReport {
    /// What a pull of `entry` tells its sources once the whole-file hash came out as
    /// `digest` (`verification_status` says whether it matched).
    static func verified(requestID: String, entry: ModelEntry, digest: String) -> TransferReport {
        .complete(
            ModelTransferComplete(
                requestID: requestID, modelID: entry.modelID, totalBytesReceived: entry.sizeBytes, sha256Computed: digest,
                sha256Expected: entry.sha256, verificationStatus: digest == entry.sha256 ? "success" : "failed",
                storagePath: entry.fileName))
    }

    /// What a pull of `entry` tells its sources when it stops with `failure`.
    static func stopped(requestID: String, entry: ModelEntry, failure: TransferError, by requester: String) -> TransferReport {
        .cancel(
            ModelTransferCancel(
                requestID: requestID, modelID: entry.modelID, reason: failure.cancelReason, message: failure.message,
                cancelledBy: requester))
    }
}
