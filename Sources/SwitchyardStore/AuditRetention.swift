/// How long audit rows are kept: by age, by count, or both (whichever deletes more).
///
/// The writer applies it on its own thread every `interval`, deleting at most `batchSize`
/// rows per transaction so the writer connection is never held for long.
///
/// ```swift
/// AuditRetention(maxAge: AuditRetention.days(30), maxRows: 5_000_000)
/// AuditRetention.keepEverything
/// ```
public struct AuditRetention: Sendable, Hashable {
    /// Rows older than this go (nil: no age limit).
    public var maxAge: Duration?
    /// Only the newest this many rows stay (nil: no count limit).
    public var maxRows: Int?
    /// How often the writer applies retention.
    public var interval: Duration
    /// Rows deleted per transaction.
    public var batchSize: Int

    public init(
        maxAge: Duration? = AuditRetention.days(30), maxRows: Int? = nil, interval: Duration = .seconds(60),
        batchSize: Int = 5_000
    ) {
        self.maxAge = maxAge
        self.maxRows = maxRows
        self.interval = interval
        self.batchSize = max(1, batchSize)
    }

    /// No retention: rows stay until deleted by hand.
    public static let keepEverything = AuditRetention(maxAge: nil, maxRows: nil)

    /// `days` days as a `Duration`.
    public static func days(_ days: Int) -> Duration { .seconds(days * 86_400) }

    /// Whether there is anything to enforce.
    public var isEnabled: Bool { maxAge != nil || maxRows != nil }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var timeInterval: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
