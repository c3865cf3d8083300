import Foundation

/// The few facts about this process the runtime records (worker names).
enum ProcessInfoLite {
    static func hostName() -> String { ProcessInfo.processInfo.hostName }
    static func pid() -> Int32 { ProcessInfo.processInfo.processIdentifier }
}
