import SwitchyardJSON

/// The output formats of `switchyard audit`.
public enum AuditOutputFormat: String, Sendable, CaseIterable {
    /// Aligned columns for people.
    case table
    /// One JSON object per line (JSON lines); absent fields are left out.
    case json
    /// RFC 4180 CSV with a header row: every column, empty when absent.
    case csv
}

/// Renders audit entries as text, batch by batch (so `--follow` can print as rows come).
///
/// Every line ends with `\n`. `table` prints its header with the first non-empty batch and
/// keeps column widths from batch to batch (growing them when needed); `csv` prints its
/// header with the first batch even when empty; `json` has no header.
///
/// ```swift
/// var formatter = AuditFormatter(format: .table)
/// print(formatter.render(entries), terminator: "")
/// ```
///
/// Table columns: `TIME KIND SID NAMESPACE IDENTITY EVENT OUTCOME LATENCY DETAILS`; absent
/// values show as `-`; DETAILS lists the other fields present as `key=value` (`room`, `op`,
/// `error`, `reason`, `transport`, `remote`, `ua`, `tenant`, `socket`, `duration`,
/// `bytes_in`, `bytes_out`, `events_in`, `events_out`, `actor`, `detail`), values with
/// spaces or quotes in JSON string quotes.
public struct AuditFormatter: Sendable {
    public let format: AuditOutputFormat
    private var headerWritten = false
    private var widths: [Int] = []

    static let tableHeader = ["TIME", "KIND", "SID", "NAMESPACE", "IDENTITY", "EVENT", "OUTCOME", "LATENCY", "DETAILS"]
    static let csvHeader = ["id"] + AuditTable.columns

    public init(format: AuditOutputFormat) {
        self.format = format
    }

    /// The text for these entries (the header included on the first call).
    public mutating func render(_ entries: [AuditEntry]) -> String {
        switch format {
        case .table: return renderTable(entries)
        case .json: return entries.map { Self.jsonLine($0) + "\n" }.joined()
        case .csv: return renderCSV(entries)
        }
    }

    // MARK: - Table

    private mutating func renderTable(_ entries: [AuditEntry]) -> String {
        guard !entries.isEmpty else { return "" }
        let rows = entries.map(Self.tableRow)
        if widths.isEmpty { widths = Self.tableHeader.map(\.count) }
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        var text = ""
        if !headerWritten {
            headerWritten = true
            text += line(Self.tableHeader)
        }
        for row in rows { text += line(row) }
        return text
    }

    /// Cells padded to the column widths, two spaces apart; the last cell unpadded.
    private func line(_ cells: [String]) -> String {
        var text = ""
        for (index, cell) in cells.enumerated() {
            if index == cells.count - 1 {
                text += cell
            } else {
                text += cell + String(repeating: " ", count: widths[index] - cell.count + 2)
            }
        }
        return text + "\n"
    }

    static func tableRow(_ entry: AuditEntry) -> [String] {
        let record = entry.record
        var details: [String] = []
        func add(_ key: String, _ value: String?) {
            guard let value else { return }
            details.append("\(key)=\(quoted(value))")
        }
        add("room", record.room)
        add("op", record.operation)
        add("error", record.errorKind)
        add("reason", record.reason)
        add("transport", record.transport)
        add("remote", record.remoteAddress)
        add("ua", record.userAgent)
        add("tenant", record.tenant)
        add("socket", record.socketID)
        add("duration", record.durationMilliseconds.map(milliseconds))
        add("bytes_in", record.bytesIn.map(String.init))
        add("bytes_out", record.bytesOut.map(String.init))
        add("events_in", record.eventsIn.map(String.init))
        add("events_out", record.eventsOut.map(String.init))
        add("actor", record.actor)
        if let detail = record.detail { details.append("detail=\(detail.serialized())") }
        return [
            Timestamp.format(record.time), record.kind.rawValue, record.sessionID ?? "-", record.namespace ?? "-",
            record.identity ?? "-", record.event ?? "-", record.outcome?.rawValue ?? "-",
            record.latencyMicroseconds.map(microseconds) ?? "-", details.isEmpty ? "-" : details.joined(separator: " "),
        ]
    }

    /// A value as is, or in JSON string quotes when it is empty or has spaces, quotes,
    /// `=` or control characters.
    static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "\"" && $0 != "=" && $0.value != 0x7F }
        return plain ? value : JSONValue.string(value).serialized()
    }

    /// `850µs`, `12.3ms`, `1.25s`.
    static func microseconds(_ value: Int) -> String {
        if value < 0 { return "\(value)µs" }
        if value < 1_000 { return "\(value)µs" }
        if value < 1_000_000 { return "\(value / 1_000).\(value % 1_000 / 100)ms" }
        let hundredths = value % 1_000_000 / 10_000
        return "\(value / 1_000_000).\(hundredths < 10 ? "0" : "")\(hundredths)s"
    }

    /// `850ms`, `12.5s`.
    static func milliseconds(_ value: Int) -> String {
        if value < 1_000 { return "\(value)ms" }
        return "\(value / 1_000).\(value % 1_000 / 100)s"
    }

    // MARK: - JSON lines

    public static func jsonLine(_ entry: AuditEntry) -> String {
        json(entry).serialized()
    }

    /// One audit row as a JSON object (what ``jsonLine(_:)`` writes).
    public static func json(_ entry: AuditEntry) -> JSONValue {
        var object = JSONObject()
        object["id"] = .number(JSONNumber(entry.id))
        for (column, value) in zip(AuditTable.columns, fields(entry.record)) {
            guard let value else { continue }
            switch value {
            case .text(let text): object[column] = .string(text)
            case .integer(let number): object[column] = .number(JSONNumber(number))
            case .json(let json): object[column] = json
            }
        }
        return .object(object)
    }

    // MARK: - CSV

    private mutating func renderCSV(_ entries: [AuditEntry]) -> String {
        var text = ""
        if !headerWritten {
            headerWritten = true
            text += Self.csvHeader.joined(separator: ",") + "\n"
        }
        for entry in entries {
            let cells =
                [String(entry.id)]
                + Self.fields(entry.record).map { value -> String in
                    switch value {
                    case nil: return ""
                    case .text(let text): return Self.csvField(text)
                    case .integer(let number): return String(number)
                    case .json(let json): return Self.csvField(json.serialized())
                    }
                }
            text += cells.joined(separator: ",") + "\n"
        }
        return text
    }

    /// A field in double quotes (inner quotes doubled) when it holds a comma, a quote, a
    /// line break, or leading or trailing spaces.
    static func csvField(_ text: String) -> String {
        let needsQuotes =
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
            || text.first == " " || text.last == " "
        guard needsQuotes else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    // MARK: - Fields

    enum Field {
        case text(String)
        case integer(Int)
        case json(JSONValue)
    }

    /// A record's values in ``AuditTable/columns`` order.
    static func fields(_ record: AuditRecord) -> [Field?] {
        func text(_ value: String?) -> Field? { value.map(Field.text) }
        func integer(_ value: Int?) -> Field? { value.map(Field.integer) }
        return [
            .text(Timestamp.format(record.time)), .text(record.kind.rawValue), text(record.sessionID),
            text(record.socketID), text(record.namespace), text(record.room), text(record.identity), text(record.tenant),
            text(record.remoteAddress), text(record.userAgent), text(record.transport), text(record.event),
            text(record.operation), text(record.outcome?.rawValue), text(record.errorKind), text(record.reason),
            integer(record.latencyMicroseconds), integer(record.durationMilliseconds), integer(record.bytesIn),
            integer(record.bytesOut), integer(record.eventsIn), integer(record.eventsOut), text(record.actor),
            record.detail.map(Field.json),
        ]
    }
}
