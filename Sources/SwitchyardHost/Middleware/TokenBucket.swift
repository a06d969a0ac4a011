import NIOCore

/// A token bucket: up to `burst` events at once, refilled at `rate` per second.
///
/// A pure value with the time passed in, so tests drive it with explicit instants.
///
/// ```swift
/// var bucket = TokenBucket(rate: 10, burst: 20, now: start)
/// bucket.take(now: start)            // .allowed — 19 left
/// // … 20 takes later, in the same instant:
/// bucket.take(now: start)            // .denied(retryAfter: 100 ms)
/// ```
public struct TokenBucket: Sendable, Hashable {
    public enum Decision: Sendable, Hashable {
        case allowed
        /// Refused; one token will be available after this long.
        case denied(retryAfter: TimeAmount)
    }

    public let rate: Double
    public let burst: Double
    private(set) var tokens: Double
    private(set) var updated: NIODeadline

    /// A full bucket.
    public init(rate: Double, burst: Int, now: NIODeadline) {
        precondition(rate > 0 && burst >= 1, "a token bucket needs a positive rate and a burst of at least one")
        self.rate = rate
        self.burst = Double(burst)
        self.tokens = Double(burst)
        self.updated = now
    }

    /// Takes one token if there is one.
    public mutating func take(now: NIODeadline) -> Decision {
        refill(now: now)
        if tokens >= 1 {
            tokens -= 1
            return .allowed
        }
        let seconds = (1 - tokens) / rate
        return .denied(retryAfter: .nanoseconds(Int64((seconds * 1e9).rounded(.up))))
    }

    /// Whether the bucket is full at `now` (an idle bucket that can be forgotten).
    public mutating func isFull(now: NIODeadline) -> Bool {
        refill(now: now)
        return tokens >= burst
    }

    private mutating func refill(now: NIODeadline) {
        guard now > updated else { return }
        let elapsed = Double((now - updated).nanoseconds) / 1e9
        tokens = min(burst, tokens + elapsed * rate)
        updated = now
    }
}
