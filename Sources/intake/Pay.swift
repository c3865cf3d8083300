import ArgumentParser
import AsyncHTTPClient
import Foundation
import IntakeLoad
import IntakeRuntime
import IntakeServer

struct Pay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Development: pay an order as the payment provider does, with a webhook signed by the server's secret.",
        discussion: """
            Posts {"payment_id","order_id","amount","status"} to /v1/payments/webhook with an Intake-Signature made with \
            INTAKE_WEBHOOK_SECRET (or the secret scripts/run generated into the data directory). The amount defaults to the \
            order's own, read from the server's database. Prints the answer; exit status 1 unless it is 2xx.
            """)

    @Argument(help: "The order to pay.")
    var orderID: String

    @Option(help: "Amount paid (default: the order's amount).")
    var amount: String?

    @Option(help: "succeeded or failed.")
    var status = "succeeded"

    @Option(help: "The provider's payment id (default: a new one).")
    var paymentID: String?

    @Option(help: "The server (default: the intake serve owning --data-dir, else http://127.0.0.1:8080).")
    var url: String?

    @Option(help: "Webhook secret (INTAKE_WEBHOOK_SECRET; default: the data directory's).")
    var webhookSecret: String?

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            let configuration = try connection.configuration()
            guard let order = UUID(canonical: orderID) else { throw ValidationError("\(orderID) is not an order id (a UUID)") }
            guard status == "succeeded" || status == "failed" else { throw ValidationError("--status: succeeded or failed") }
            let instance = RunningInstance.find(configuration)
            guard let secret = webhookSecret ?? configuration.webhookSecret ?? instance?.secrets["INTAKE_WEBHOOK_SECRET"] else {
                throw ValidationError("no webhook secret: give --webhook-secret or INTAKE_WEBHOOK_SECRET, or --data-dir of the server")
            }
            let paid: String
            if let amount {
                paid = amount
            } else {
                paid = try await orderAmount(order, databaseURL: configuration.databaseURL ?? instance?.databaseURL)
            }
            let fields = ["payment_id": paymentID ?? "dev-\(UUID().lowercasedString)", "order_id": order.lowercasedString,
                          "amount": paid, "status": status]
            let body = [UInt8](try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]))
            let base = url ?? instance?.owner.httpURL ?? "http://127.0.0.1:8080"
            guard BaseURL.isHTTP(base) else { throw ValidationError("--url \(base): expected http://host:port or https://host:port") }
            var request = HTTPClientRequest(url: base + "/v1/payments/webhook")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Intake-Signature", value: WebhookSignature(secret: Array(secret.utf8)).header(for: body))
            request.body = .bytes(body)
            // A refused or unreachable server is an answer: said at once, not retried until the
            // request's deadline (AsyncHTTPClient's default).
            var clientConfiguration = HTTPClient.Configuration()
            clientConfiguration.connectionPool.retryConnectionEstablishment = false
            clientConfiguration.timeout.connect = .seconds(5)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
            let exchange: Result<(HTTPClientResponse, String), any Error>
            do {
                let response = try await client.execute(request, timeout: .seconds(30))
                exchange = .success((response, String(buffer: try await response.body.collect(upTo: 1 << 20))))
            } catch {
                exchange = .failure(error)
            }
            // Nothing is in flight any more; a failure to close changes nothing the user is told.
            try? await client.shutdown()
            guard case .success(let (response, answer)) = exchange else {
                if case .failure(let error) = exchange { throw ValidationError("cannot reach \(base): \(HTTPLoadTarget.describe(error))") }
                return
            }
            print(answer)
            guard (200..<300).contains(response.status.code) else {
                throw ValidationError("the webhook answered \(response.status.code)")
            }
        }
    }

    private func orderAmount(_ order: UUID, databaseURL: String?) async throws -> String {
        guard let databaseURL else {
            throw ValidationError("give --amount: no database to read the order's amount from (no intake serve owns the data directory)")
        }
        let db = PostgresClient(configuration: try PostgresConfiguration(url: databaseURL, poolSize: 1))
        defer { db.shutdown() }
        guard let row = try await db.query("SELECT amount::text AS amount FROM orders WHERE id = $1", [.uuid(order)]).first else {
            throw ValidationError("no order \(order.lowercasedString)")
        }
        return try row.decode("amount", as: String.self)
    }
}
