import NIOCore
import SwitchyardHost
import Testing

@Suite("Token bucket")
struct TokenBucketTests {
    let start = NIODeadline.uptimeNanoseconds(5_000_000_000)

    @Test("A full bucket allows a burst, then refuses with the time until the next token")
    func burst() {
        var bucket = TokenBucket(rate: 10, burst: 3, now: start)
        #expect(bucket.take(now: start) == .allowed)
        #expect(bucket.take(now: start) == .allowed)
        #expect(bucket.take(now: start) == .allowed)
        #expect(bucket.take(now: start) == .denied(retryAfter: .milliseconds(100)))
    }

    @Test("Tokens come back at the rate, never beyond the burst")
    func refill() {
        var bucket = TokenBucket(rate: 10, burst: 2, now: start)
        _ = bucket.take(now: start)
        _ = bucket.take(now: start)
        #expect(bucket.take(now: start + .milliseconds(50)) == .denied(retryAfter: .milliseconds(50)))
        #expect(bucket.take(now: start + .milliseconds(100)) == .allowed)
        // A long pause refills to the burst only.
        let later = start + .seconds(60)
        #expect(bucket.take(now: later) == .allowed)
        #expect(bucket.take(now: later) == .allowed)
        #expect(bucket.take(now: later) != .allowed)
    }

    @Test("Sustained traffic at exactly the rate is always allowed")
    func sustainedRate() {
        var bucket = TokenBucket(rate: 5, burst: 1, now: start)
        for step in 0..<100 {
            #expect(bucket.take(now: start + .milliseconds(Int64(step) * 200)) == .allowed)
        }
    }

    @Test("Over a minute of flooding, accepted events equal burst + rate × time")
    func flood() {
        var bucket = TokenBucket(rate: 10, burst: 20, now: start)
        var allowed = 0
        // 1000 events per second for 60 seconds.
        for millisecond in 0..<60_000 {
            if bucket.take(now: start + .milliseconds(Int64(millisecond))) == .allowed { allowed += 1 }
        }
        #expect(allowed == 20 + 10 * 60 - 1 || allowed == 20 + 10 * 60)
    }

    @Test("An idle bucket reports full once refilled")
    func idle() {
        var bucket = TokenBucket(rate: 1, burst: 2, now: start)
        _ = bucket.take(now: start)
        #expect(bucket.isFull(now: start + .milliseconds(500)) == false)
        #expect(bucket.isFull(now: start + .seconds(1)) == true)
    }
}
