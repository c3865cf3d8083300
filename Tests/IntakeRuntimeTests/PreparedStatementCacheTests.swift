@testable import IntakeRuntime
import Testing

@Suite("Prepared statement cache")
struct PreparedStatementCacheTests {
    typealias Key = PreparedStatementCache.Key

    @Test func aStatementIsPreparedOnItsSecondUseThenExecutedByName() {
        var cache = PreparedStatementCache(capacity: 4, threshold: 2)
        let key = Key(sql: "SELECT $1", types: [23])
        #expect(cache.decide(key, idle: true) == .unnamed)
        guard case .prepare(let name) = cache.decide(key, idle: true) else {
            Issue.record("the second use prepares")
            return
        }
        cache.prepared(key, as: name)
        #expect(cache.decide(key, idle: true) == .execute(name))
        #expect(cache.decide(key, idle: false) == .execute(name), "a prepared statement serves inside transactions too")
    }

    @Test func parameterTypesArePartOfTheKey() {
        var cache = PreparedStatementCache(capacity: 4, threshold: 1)
        let text = Key(sql: "SELECT $1", types: [25])
        let untyped = Key(sql: "SELECT $1", types: [0])
        guard case .prepare(let first) = cache.decide(text, idle: true), case .prepare(let second) = cache.decide(untyped, idle: true) else {
            Issue.record("both are prepared")
            return
        }
        #expect(first != second)
    }

    @Test func nothingIsPreparedInsideATransaction() {
        var cache = PreparedStatementCache(capacity: 4, threshold: 1)
        let key = Key(sql: "SELECT 1", types: [])
        #expect(cache.decide(key, idle: false) == .unnamed)
        #expect(cache.decide(key, idle: false) == .unnamed)
    }

    @Test func usesInsideATransactionCountAndTellWhenAStatementIsDue() {
        var cache = PreparedStatementCache(capacity: 4, threshold: 2)
        let key = Key(sql: "SELECT 1", types: [])
        #expect(!cache.isDue(key))
        #expect(cache.decide(key, idle: false) == .unnamed)
        #expect(cache.isDue(key), "its next use is its second")
        guard case .prepare(let name) = cache.decide(key, idle: true) else {
            Issue.record("not prepared on its second use")
            return
        }
        cache.prepared(key, as: name)
        #expect(!cache.isDue(key), "prepared already")
        cache.failed(Key(sql: "SELECT bad", types: []))
        #expect(!cache.isDue(Key(sql: "SELECT bad", types: [])))
    }

    @Test func capacityBoundsWhatIsPrepared() {
        var cache = PreparedStatementCache(capacity: 2, threshold: 1)
        for index in 0..<2 {
            let key = Key(sql: "SELECT \(index)", types: [])
            guard case .prepare(let name) = cache.decide(key, idle: true) else {
                Issue.record("under capacity, prepared")
                return
            }
            cache.prepared(key, as: name)
        }
        #expect(cache.decide(Key(sql: "SELECT 2", types: []), idle: true) == .unnamed)
        #expect(cache.names.count == 2)
    }

    @Test func aStatementThatFailedToPrepareRunsUnnamedUntilReset() {
        var cache = PreparedStatementCache(capacity: 4, threshold: 1)
        let key = Key(sql: "SELEC 1", types: [])
        guard case .prepare = cache.decide(key, idle: true) else {
            Issue.record("prepared on first use at threshold 1")
            return
        }
        cache.failed(key)
        #expect(cache.decide(key, idle: true) == .unnamed)
        cache.reset()
        guard case .prepare = cache.decide(key, idle: true) else {
            Issue.record("tried again after a reset")
            return
        }
    }

    @Test func resetForgetsNamesAndNewNamesNeverRepeat() {
        var cache = PreparedStatementCache(capacity: 4, threshold: 1)
        let key = Key(sql: "SELECT 1", types: [])
        guard case .prepare(let before) = cache.decide(key, idle: true) else { return }
        cache.prepared(key, as: before)
        cache.reset()
        guard case .prepare(let after) = cache.decide(key, idle: true) else {
            Issue.record("prepared again after a reset")
            return
        }
        #expect(after != before, "the server may still hold the old name")
    }

    @Test func scriptsThatDropPreparedStatementsAreRecognised() {
        #expect(PreparedStatementCache.mayDeallocate("discard all"))
        #expect(PreparedStatementCache.mayDeallocate("SELECT 1; DEALLOCATE intake_1"))
        #expect(!PreparedStatementCache.mayDeallocate("SELECT 1"))
        #expect(PreparedStatementCache.mayDeallocate("  \n deallocate all"))
        #expect(!PreparedStatementCache.mayDeallocate("UPDATE jobs SET state = 'discarded', discarded_at = now()"))
        #expect(PreparedStatementCache.invalidates(sqlState: "26000"))
        #expect(PreparedStatementCache.invalidates(sqlState: "0A000"))
        #expect(!PreparedStatementCache.invalidates(sqlState: "23505"))
    }
}
