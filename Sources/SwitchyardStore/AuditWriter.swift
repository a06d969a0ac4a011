import Foundation
import GRDB
import Logging
import ServiceLifecycle
import SwitchyardJSON

/// Writes audit records to the database in batches, on a thread of its own.
///
/// ``record(_:)`` is the hot path, called on NIO event loops: it checks the level and
/// copies the record into a bounded in-memory queue under a lock, nothing more. A
/// dedicated thread (never an event loop) drains the queue in transactions of up to
/// `batchSize` rows, as soon as a full batch is queued and at least every
/// `flushInterval`.
///
/// - **Overflow**: a record that finds the queue full is counted, never silently lost:
///   the next batch carries an `audit_overflow` row with the number dropped since the
///   previous one, a warning is logged (at most every `overflowLogInterval`), and
///   ``counters`` exposes the totals.
/// - **Storage failures** (disk full, read-only file, I/O errors, locks): one clear error
///   naming the file and the SQLite error per outage; the rows stay queued (the queue
///   stays bounded, so newer records overflow and are counted), the writer retries every
///   `retryInterval`, and a notice marks the recovery. The server never blocks on it.
/// - **Shutdown**: when the service group shuts down gracefully (or the task is
///   cancelled) `run()` writes every queued row before it returns; if storage is failing
///   then, the rows it could not write are counted in ``Counters/lost`` and logged.
/// - **Retention**: ``AuditRetention`` is applied every `retention.interval`.
///
/// ```swift
/// let database = try SwitchyardDatabase.open(directory: dataDirectory)
/// try database.migrate()
/// let audit = AuditWriter(database: database, configuration: .init(level: .all), logger: logger)
/// // First in the group: started first, shut down last, after the server has closed its sockets.
/// let group = ServiceGroup(services: [audit, server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// try database.close()
/// ```
public final class AuditWriter: AuditSink, Service, @unchecked Sendable {
    /// Tuning; the defaults suit a busy server.
    public struct Configuration: Sendable, Hashable {
        /// Which records are kept; the others are ignored in ``record(_:)``.
        public var level: AuditLevel
        /// Records held in memory at most, queued and being written together.
        public var queueCapacity: Int
        /// Rows per transaction at most.
        public var batchSize: Int
        /// Longest time a record waits in the queue while storage is healthy.
        public var flushInterval: Duration
        /// Time between write attempts while storage is failing.
        public var retryInterval: Duration
        /// Shortest time between two "queue full" warnings.
        public var overflowLogInterval: Duration
        /// What to delete, and how often.
        public var retention: AuditRetention

        public init(
            level: AuditLevel = .connections, queueCapacity: Int = 65_536, batchSize: Int = 5_000,
            flushInterval: Duration = .milliseconds(100), retryInterval: Duration = .seconds(5),
            overflowLogInterval: Duration = .seconds(10), retention: AuditRetention = AuditRetention()
        ) {
            self.level = level
            self.queueCapacity = max(1, queueCapacity)
            self.batchSize = max(1, batchSize)
            self.flushInterval = flushInterval
            self.retryInterval = retryInterval
            self.overflowLogInterval = overflowLogInterval
            self.retention = retention
        }
    }

    /// What the writer has done since it was made (for metrics and tests).
    public struct Counters: Sendable, Hashable {
        /// Rows committed, `audit_overflow` rows included.
        public var written: Int
        /// Records refused because the queue was full (or the writer had stopped).
        public var dropped: Int
        /// Transactions that failed (each is retried, or its rows counted as lost).
        public var failedWrites: Int
        /// Queued records given up: rows SQLite rejects as such (too big), or rows still
        /// unwritable when the writer stopped.
        public var lost: Int
        /// Transactions committed.
        public var batches: Int
        /// Records in memory now, waiting or being written.
        public var queued: Int
        /// Rows deleted by retention.
        public var expired: Int
    }

    /// The database written to.
    public let database: SwitchyardDatabase
    /// The configuration it was made with.
    public let configuration: Configuration

    private let logger: Logger
    let queue: AuditQueue

    /// Guards the fields below it (counters, outage, log throttling).
    private let state = NSLock()
    private var written = 0
    private var failedWrites = 0
    private var lost = 0
    private var batches = 0
    private var expired = 0
    private var outage: Outage?
    private var droppedLogged = 0
    private var lastOverflowLog: Date?
    private var started = false

    /// One drainer at a time (the writer thread, or a caller of ``flush()``).
    private let drainLock = NSLock()
    /// Reused between batches (guarded by `drainLock`).
    private var batch: [AuditRecord] = []

    private struct Outage {
        var since: Date
        var failure: StorageFailure
        var droppedBefore: Int
    }

    public init(database: SwitchyardDatabase, configuration: Configuration = Configuration(), logger: Logger) {
        self.database = database
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "audit.database"] = "\(database.path)"
        self.logger = logger
        self.queue = AuditQueue(capacity: configuration.queueCapacity, wakeCount: configuration.batchSize)
        batch.reserveCapacity(configuration.batchSize)
    }

    // MARK: - The hot path

    /// Queues a record if the level admits it. Never blocks, never throws, any thread.
    @inlinable
    public func record(_ record: AuditRecord) {
        guard configuration.level.admits(record) else { return }
        enqueue(record)
    }

    public func admits(_ kind: AuditKind, outcome: AuditOutcome?) -> Bool {
        configuration.level.admits(kind, outcome: outcome)
    }

    @usableFromInline
    func enqueue(_ record: AuditRecord) {
        queue.append(record)
    }

    // MARK: - State

    /// A snapshot of the counters.
    public var counters: Counters {
        state.lock()
        defer { state.unlock() }
        return Counters(
            written: written, dropped: queue.droppedTotal, failedWrites: failedWrites, lost: lost, batches: batches,
            queued: queue.queuedCount, expired: expired)
    }

    /// The storage error of the current outage, nil while writes succeed.
    public var storageError: String? {
        state.lock()
        defer { state.unlock() }
        return outage.map { "\(database.path): \($0.failure)" }
    }

    // MARK: - Service

    /// Runs the writer thread until graceful shutdown or cancellation, then writes every
    /// queued row and returns. Call once.
    public func run() async throws {
        precondition(markStarted(), "AuditWriter.run() called twice")

        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let thread = Thread { [self] in
                        writerLoop()
                        continuation.resume()
                    }
                    thread.name = "switchyard-audit-writer"
                    thread.start()
                }
            } onGracefulShutdown: { [queue] in
                queue.requestStop()
            }
        } onCancel: { [queue] in
            queue.requestStop()
        }
    }

    /// Marks the writer started; false if it already was.
    private func markStarted() -> Bool {
        state.lock()
        defer { state.unlock() }
        let first = !started
        started = true
        return first
    }

    /// The writer thread: wait, drain, apply retention; on stop, flush and close the queue.
    private func writerLoop() {
        let flushInterval = configuration.flushInterval.timeInterval
        let retryInterval = configuration.retryInterval.timeInterval
        let retention = configuration.retention
        let maxBatchesPerTurn = configuration.queueCapacity / configuration.batchSize + 1
        var nextRetry = Date.distantPast
        var nextRetention = retention.isEnabled ? Date() : Date.distantFuture

        while true {
            let failing = isFailing
            let deadline = min(failing ? nextRetry : Date().addingTimeInterval(flushInterval), nextRetention)
            if queue.wait(until: deadline, wakeOnBatch: !failing) { break }
            let now = Date()
            if !failing || now >= nextRetry {
                if !drain(now: now, maxBatches: maxBatchesPerTurn) {
                    nextRetry = now.addingTimeInterval(retryInterval)
                }
            }
            if now >= nextRetention {
                if !isFailing {
                    applyRetention(now: now, drainingBetweenBatches: true)
                }
                nextRetention = now.addingTimeInterval(retention.interval.timeInterval)
            }
        }

        // Graceful shutdown: the server has stopped producing. Write everything (one more
        // attempt even during an outage), refuse later records, write any that raced in.
        drain(now: Date())
        queue.close()
        if !drain(now: Date()) {
            drainLock.lock()
            let remaining = queue.queuedCount
            queue.remove(remaining)
            drainLock.unlock()
            state.lock()
            lost += remaining
            let failure = outage?.failure.description ?? "unknown error"
            state.unlock()
            logger.error(
                "audit log: \(remaining) record(s) could not be written to \(database.path) before shutdown: \(failure)")
        }
        flushOverflowLog(now: Date(), force: true)
    }

    private var isFailing: Bool {
        state.lock()
        defer { state.unlock() }
        return outage != nil
    }

    // MARK: - Draining

    /// Writes every queued record now, on the calling thread, and returns whether the
    /// queue was emptied (false: storage failed and the rows stay queued for a retry).
    ///
    /// The writer thread does this by itself; call it for a synchronous flush (tests,
    /// tools). Safe to call while ``run()`` is running.
    @discardableResult
    public func flush() -> Bool {
        drain(now: Date())
    }

    /// Writes up to `maxBatches` transactions of queued records (plus an overflow row when
    /// records were dropped). Returns whether the queue was emptied.
    @discardableResult
    func drain(now: Date, maxBatches: Int = .max) -> Bool {
        drainLock.lock()
        defer { drainLock.unlock() }
        flushOverflowLog(now: now, force: false)
        var turns = 0
        while turns < maxBatches {
            turns += 1
            queue.peek(upTo: configuration.batchSize, into: &batch)
            let drops = queue.takeUnreportedDrops()
            if batch.isEmpty && drops == 0 { return true }
            let overflow = drops > 0 ? overflowRecord(dropped: drops, time: now) : nil
            do {
                try database.pool.write { db in
                    try AuditTable.insert(db, batch)
                    if let overflow { try AuditTable.insert(db, CollectionOfOne(overflow)) }
                }
                queue.remove(batch.count)
                state.lock()
                written += batch.count + (overflow == nil ? 0 : 1)
                batches += 1
                state.unlock()
                endOutage(now: now)
            } catch {
                queue.restoreUnreportedDrops(drops)
                let failure = StorageFailure(error)
                state.lock()
                failedWrites += 1
                state.unlock()
                switch failure.disposition {
                case .retry:
                    beginOutage(failure, now: now)
                    return false
                case .discardRows:
                    if !salvage(now: now) { return false }
                }
            }
        }
        return queue.queuedCount == 0
    }

    /// After a batch SQLite refused as such: writes its rows one by one, counting those
    /// refused again as lost. Returns false if storage itself fails meanwhile.
    private func salvage(now: Date) -> Bool {
        var handled = 0
        defer { queue.remove(handled) }
        for record in batch {
            do {
                try database.pool.write { db in try AuditTable.insert(db, CollectionOfOne(record)) }
                state.lock()
                written += 1
                batches += 1
                state.unlock()
            } catch {
                let failure = StorageFailure(error)
                if failure.disposition == .retry {
                    beginOutage(failure, now: now)
                    return false
                }
                state.lock()
                lost += 1
                state.unlock()
                logger.error(
                    "audit log: a \(record.kind.rawValue) record was refused by \(database.path) and is lost: \(failure)")
            }
            handled += 1
        }
        return true
    }

    private func overflowRecord(dropped: Int, time: Date) -> AuditRecord {
        var record = AuditRecord(kind: .auditOverflow, time: time)
        record.reason = "queue full"
        record.detail = .object(["dropped": .number(JSONNumber(dropped)), "capacity": .number(JSONNumber(queue.capacity))])
        return record
    }

    /// Logs the records dropped since the last such warning, at most every
    /// `overflowLogInterval` (or now, when `force`d at shutdown).
    private func flushOverflowLog(now: Date, force: Bool) {
        let total = queue.droppedTotal
        state.lock()
        let number = total - droppedLogged
        let due =
            number > 0
            && (force || lastOverflowLog.map { now.timeIntervalSince($0) >= configuration.overflowLogInterval.timeInterval } ?? true)
        if due {
            droppedLogged = total
            lastOverflowLog = now
        }
        state.unlock()
        if due {
            logger.warning(
                "audit queue full (capacity \(queue.capacity)): \(number) record(s) dropped; counted in audit_overflow rows")
        }
    }

    private func beginOutage(_ failure: StorageFailure, now: Date) {
        state.lock()
        let previous = outage
        if previous == nil {
            outage = Outage(since: now, failure: failure, droppedBefore: queue.droppedTotal)
        } else {
            outage?.failure = failure
        }
        state.unlock()
        if previous == nil || previous?.failure != failure {
            logger.error(
                """
                audit log: cannot write to \(database.path): \(failure). Keeping up to \(queue.capacity) record(s) \
                queued and retrying every \(configuration.retryInterval); records beyond that are counted as dropped
                """)
        }
    }

    private func endOutage(now: Date) {
        state.lock()
        let ended = outage
        outage = nil
        let droppedSince = queue.droppedTotal - (ended?.droppedBefore ?? 0)
        state.unlock()
        guard let ended else { return }
        let seconds = Int(now.timeIntervalSince(ended.since).rounded())
        let message: Logger.Message =
            "audit log: writing to \(database.path) again after \(seconds)s of failures; \(droppedSince) record(s) dropped meanwhile"
        if droppedSince > 0 { logger.warning(message) } else { logger.notice(message) }
    }

    // MARK: - Retention

    /// Deletes the rows that retention no longer keeps, in batches; returns how many went.
    ///
    /// The writer thread does this every `retention.interval`; call it directly in tools
    /// and tests. A failure is logged and ends the pass.
    @discardableResult
    public func applyRetention(now: Date = Date()) -> Int {
        applyRetention(now: now, drainingBetweenBatches: false)
    }

    @discardableResult
    private func applyRetention(now: Date, drainingBetweenBatches: Bool) -> Int {
        let retention = configuration.retention
        guard retention.isEnabled else { return 0 }
        let cutoff = retention.maxAge.map { now.addingTimeInterval(-$0.timeInterval) }
        var total = 0
        do {
            while true {
                let deleted = try database.pool.write { db -> Int in
                    var deleted = 0
                    if let cutoff {
                        deleted += try AuditTable.deleteOlder(than: cutoff, limit: retention.batchSize, db)
                    }
                    if let maxRows = retention.maxRows, deleted < retention.batchSize {
                        deleted += try AuditTable.deleteBeyond(keep: maxRows, limit: retention.batchSize - deleted, db)
                    }
                    return deleted
                }
                total += deleted
                state.lock()
                expired += deleted
                state.unlock()
                if deleted < retention.batchSize { break }
                // Keep new records flowing while a large backlog is deleted.
                if drainingBetweenBatches && queue.queuedCount >= configuration.batchSize {
                    drain(now: Date(), maxBatches: 1)
                }
            }
        } catch {
            logger.warning("audit log: retention stopped on \(database.path): \(StorageFailure(error))")
        }
        if total > 0 {
            logger.debug("audit log: retention deleted \(total) row(s)")
        }
        return total
    }
}
