extension PullEngine {
    /// This engine, its HTTP pulls background transfers for the bandwidth shaper or not
    /// (`PullConfiguration.background`): the node's `normal` and `low` downloads are.
    public func background(_ background: Bool) -> PullEngine {
        guard configuration.background != background else { return self }
        var engine = self
        engine.configuration.background = background
        return engine
    }
}
