import IntakeActors
import Testing

@Suite struct MoneyTests {
    @Test(arguments: [
        ("19.99", 1999), ("12.5", 1250), ("7", 700), ("0.01", 1), ("0", 0), ("-3.10", -310), ("00012.30", 1230),
    ])
    func parsesZeroToTwoDecimals(text: String, cents: Int64) {
        #expect(Money(text) == Money(cents: cents))
    }

    @Test(arguments: ["", "-", ".", "1.", ".5", "1.234", "1e3", " 1", "1 ", "+1", "1,00", "abc", "1.2.3", "99999999999999999999"])
    func rejectsAnythingElse(text: String) {
        #expect(Money(text) == nil)
    }

    @Test func printsExactlyTwoDecimals() {
        #expect(Money(cents: 1250).description == "12.50")
        #expect(Money(cents: 5).description == "0.05")
        #expect(Money(cents: -5).description == "-0.05")
        #expect(Money(cents: 0).description == "0.00")
    }

    @Test func arithmeticIsExactAndOverflowIsReported() {
        #expect(Money("0.10")?.multiplied(by: 3) == Money("0.30"))
        #expect(Money("0.10")?.adding(Money("0.20")!) == Money("0.30"))
        #expect(Money(cents: .max).adding(Money(cents: 1)) == nil)
        #expect(Money(cents: .max / 2).multiplied(by: 3) == nil)
        #expect(Money("12.5")! == Money("12.50")!)
    }
}
