/// A blocking client connection that `ConnectionPool` can hold.
///
/// Every method is called on the connection's own `BlockingThread`, never concurrently.
protocol PoolableConnection: AnyObject, SendableMetatype {
    /// Makes the connection usable at the start of a lease: connects if it is not connected,
    /// and replaces it when the server closed it while it sat idle (a restart, an
    /// administrator's kill). Throws when no connection can be made.
    func prepareForUse() throws

    /// Closes the connection for good.
    func close()
}
