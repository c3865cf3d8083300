import Foundation
import IntakeLoad
import Testing

@Suite struct OperationMixTests {
    @Test func parsesWeightsAndDrawsInProportion() throws {
        let mix = try OperationMix(parsing: "create=85, pay=5,cancel=5,get=5")
        #expect(mix.description == "create=85,pay=5,cancel=5,get=5")
        var random = SystemRandomNumberGenerator()
        var counts: [OperationMix.Operation: Int] = [:]
        for _ in 0..<20_000 { counts[mix.pick(using: &random), default: 0] += 1 }
        #expect((16_000...18_000).contains(counts[.create] ?? 0), "\(counts)")
        #expect((600...1_400).contains(counts[.pay] ?? 0), "\(counts)")
        let onlyCreates = try OperationMix(parsing: "create=1")
        #expect((0..<100).allSatisfy { _ in onlyCreates.pick(using: &random) == .create })
    }

    @Test(arguments: ["", "create", "create=x", "buy=5", "create=-1", "create=0", "create=1,create=2"])
    func refusesBadMixes(text: String) {
        #expect(throws: LoadError.self) { try OperationMix(parsing: text) }
    }

    @Test func optionsRefuseWhatCannotRun() {
        var options = LoadOptions()
        options.adminEmail = "a@example.com"
        options.adminPassword = "password"
        options.webhookSecret = "s"
        #expect(throws: Never.self) { try options.validate() }
        var bad = options
        bad.url = "ftp://x"
        #expect(throws: LoadError.self) { try bad.validate() }
        bad = options
        bad.webhookSecret = nil
        #expect(throws: LoadError.self) { try bad.validate() }
        bad = options
        bad.hotProducts = bad.products + 1
        #expect(throws: LoadError.self) { try bad.validate() }
        bad = options
        bad.mode = .inProcess
        bad.adminEmail = nil
        #expect(throws: Never.self) { try bad.validate() }
    }
}
