import Foundation
import IntakeRuntime

/// The data side's CloudEvents, put in the outbox in the transaction of the change.
public struct PipelineEvents: Sendable {
    public var typePrefix: String

    public init(typePrefix: String = "com.example") {
        self.typePrefix = typePrefix
    }

    /// `<prefix>.pipeline.failed` with `{"runId","pipeline","logicalDate","error"}`.
    public func pipelineFailed(_ run: EtlRun, error: String) -> OutboxEvent {
        let id = run.id.lowercasedString
        var data = "{\"runId\":\"\(id)\",\"pipeline\":"
        JSONText.appendString(run.pipeline, to: &data)
        data += ",\"logicalDate\":\"\(run.logicalDate)\",\"error\":"
        JSONText.appendString(error, to: &data)
        data += "}"
        return OutboxEvent(
            aggregateType: "etl_run", aggregateID: id,
            event: CloudEvent(source: "/intake/etl", type: "\(typePrefix).pipeline.failed", subject: id, data: data))
    }
}
