import Dispatch
import Foundation
import IntakeData
import Synchronization

/// A command interrupted by SIGINT, SIGTERM or SIGHUP kills the `duckdb` processes it started
/// before it exits (128 + the signal, as the shell reports it): the default action would end
/// `intake` alone and leave a query running on, re-parented to init.
enum DuckDBSignals {
    /// The installed sources, kept for the life of the process (a released source stops
    /// delivering); nil until installed.
    private static let sources = Mutex<[any DispatchSourceSignal]?>(nil)

    static func killChildrenOnExit() {
        sources.withLock { installed in
            guard installed == nil else { return }
            installed = [SIGINT, SIGTERM, SIGHUP].map { signalNumber in
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler {
                    DuckDB.killRunning()
                    exit(128 + signalNumber)
                }
                source.resume()
                return source
            }
        }
    }
}
