/// A JSON number literal read as an exact decimal: `±0.d₁d₂…dₙ × 10^exponent`, with `d₁ ≠ 0`
/// and `dₙ ≠ 0` (zero has no digits).
///
/// Comparisons, integrality and `multipleOf` work on the digits of the literal, so
/// `9007199254740993 > 9007199254740992`, `0.0075` is a multiple of `0.0001` and `1e400` is an
/// integer. Reading a literal does not allocate.
struct ExactNumber {
    let literal: String
    let negative: Bool
    /// Significant digits, without leading or trailing zeros; 0 for zero.
    let digitCount: Int
    /// Decimal exponent of the normalized form `0.d₁d₂…dₙ`.
    let exponent: Int
    /// Where `d₁` is in `literal.utf8`.
    let firstDigit: String.Index

    var isZero: Bool { digitCount == 0 }

    /// Whether the value has no fractional part.
    var isInteger: Bool { digitCount == 0 || exponent >= digitCount }

    /// Reads a literal in JSON number syntax; `nil` for anything else.
    init?(_ literal: String) {
        let utf8 = literal.utf8
        var index = utf8.startIndex
        let end = utf8.endIndex
        var negative = false
        if index < end, utf8[index] == UInt8(ascii: "-") {
            negative = true
            utf8.formIndex(after: &index)
        }
        var ordinal = 0
        var firstOrdinal = 0
        var lastNonzeroOrdinal = 0
        var first: String.Index?
        var integerDigits = 0

        @inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

        while index < end, isDigit(utf8[index]) {
            ordinal += 1
            integerDigits += 1
            if utf8[index] != UInt8(ascii: "0") {
                if first == nil {
                    first = index
                    firstOrdinal = ordinal
                }
                lastNonzeroOrdinal = ordinal
            }
            utf8.formIndex(after: &index)
        }
        guard integerDigits > 0 else { return nil }
        if index < end, utf8[index] == UInt8(ascii: ".") {
            utf8.formIndex(after: &index)
            var fractionDigits = 0
            while index < end, isDigit(utf8[index]) {
                ordinal += 1
                fractionDigits += 1
                if utf8[index] != UInt8(ascii: "0") {
                    if first == nil {
                        first = index
                        firstOrdinal = ordinal
                    }
                    lastNonzeroOrdinal = ordinal
                }
                utf8.formIndex(after: &index)
            }
            guard fractionDigits > 0 else { return nil }
        }
        var exponent = 0
        if index < end, utf8[index] | 0x20 == UInt8(ascii: "e") {
            utf8.formIndex(after: &index)
            var exponentNegative = false
            if index < end, utf8[index] == UInt8(ascii: "-") || utf8[index] == UInt8(ascii: "+") {
                exponentNegative = utf8[index] == UInt8(ascii: "-")
                utf8.formIndex(after: &index)
            }
            var exponentDigits = 0
            while index < end, isDigit(utf8[index]) {
                // Saturate: beyond a billion, every comparison is already decided.
                if exponent < 1_000_000_000 { exponent = exponent * 10 + Int(utf8[index] - UInt8(ascii: "0")) }
                exponentDigits += 1
                utf8.formIndex(after: &index)
            }
            guard exponentDigits > 0 else { return nil }
            if exponentNegative { exponent = -exponent }
        }
        guard index == end else { return nil }

        self.literal = literal
        self.negative = negative
        if let first {
            self.firstDigit = first
            self.digitCount = lastNonzeroOrdinal - firstOrdinal + 1
            self.exponent = integerDigits - firstOrdinal + 1 + exponent
        } else {
            self.firstDigit = utf8.startIndex
            self.digitCount = 0
            self.exponent = 0
        }
    }

    /// The significant digits, as values 0…9.
    struct Digits: IteratorProtocol, Sequence {
        let utf8: String.UTF8View
        var index: String.Index
        var remaining: Int

        mutating func next() -> UInt8? {
            guard remaining > 0 else { return nil }
            var byte = utf8[index]
            if byte == UInt8(ascii: ".") {
                utf8.formIndex(after: &index)
                byte = utf8[index]
            }
            utf8.formIndex(after: &index)
            remaining -= 1
            return byte - UInt8(ascii: "0")
        }
    }

    var digits: Digits { Digits(utf8: literal.utf8, index: firstDigit, remaining: digitCount) }

    /// -1, 0 or 1 as `self` is less than, equal to or greater than `other`.
    func compare(_ other: ExactNumber) -> Int {
        let lhsSign = isZero ? 0 : (negative ? -1 : 1)
        let rhsSign = other.isZero ? 0 : (other.negative ? -1 : 1)
        if lhsSign != rhsSign { return lhsSign < rhsSign ? -1 : 1 }
        if lhsSign == 0 { return 0 }
        let magnitude = compareMagnitude(other)
        return negative ? -magnitude : magnitude
    }

    private func compareMagnitude(_ other: ExactNumber) -> Int {
        if exponent != other.exponent { return exponent < other.exponent ? -1 : 1 }
        var lhs = digits
        var rhs = other.digits
        while true {
            switch (lhs.next(), rhs.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let a?, let b?): if a != b { return a < b ? -1 : 1 }
            }
        }
    }

    static func == (lhs: ExactNumber, rhs: ExactNumber) -> Bool { lhs.compare(rhs) == 0 }

    /// The value as an `Int` when it is a non-negative integer, saturating at `Int.max`.
    var nonNegativeInt: Int? {
        guard isInteger, !negative || isZero else { return nil }
        if isZero { return 0 }
        if exponent > 18 { return Int.max }
        var value = 0
        for digit in digits { value = value * 10 + Int(digit) }
        for _ in 0..<(exponent - digitCount) { value *= 10 }
        return value
    }

    /// Whether `self` is an integer multiple of `divisor` (which is positive).
    func isMultiple(of divisor: ExactNumber) -> Bool {
        if isZero { return true }
        guard !divisor.isZero else { return false }
        // self = V × 10^a, divisor = M × 10^b, with V and M not divisible by 10. self / divisor
        // = (V / M) × 10^(a − b): an integer only if a ≥ b (else V would need a factor of 10)
        // and M divides V × 10^(a − b).
        let a = exponent - digitCount
        let b = divisor.exponent - divisor.digitCount
        guard a >= b else { return false }
        guard divisor.digitCount <= 18 else {
            let quotient = (Double(literal) ?? .nan) / (Double(divisor.literal) ?? .nan)
            return quotient.isFinite && quotient == quotient.rounded()
        }
        var modulus: UInt64 = 0
        for digit in divisor.digits { modulus = modulus * 10 + UInt64(digit) }
        var remainder: UInt64 = 0
        for digit in digits { remainder = (remainder * 10 + UInt64(digit)) % modulus }
        guard remainder != 0 else { return true }
        // remainder × 10^(a − b) mod M, by square-and-multiply.
        var power = a - b
        var base: UInt64 = 10 % modulus
        var scale: UInt64 = 1 % modulus
        while power > 0 {
            if power & 1 == 1 { scale = Self.multiply(scale, base, modulo: modulus) }
            base = Self.multiply(base, base, modulo: modulus)
            power >>= 1
        }
        return Self.multiply(remainder, scale, modulo: modulus) == 0
    }

    private static func multiply(_ lhs: UInt64, _ rhs: UInt64, modulo modulus: UInt64) -> UInt64 {
        let product = lhs.multipliedFullWidth(by: rhs)
        return modulus.dividingFullWidth((product.high, product.low)).remainder
    }

    /// Feeds the value (not its spelling) to `hasher`: `1`, `1.0` and `10e-1` hash alike.
    func hash(into hasher: inout Hasher) {
        hasher.combine(isZero ? false : negative)
        hasher.combine(exponent)
        hasher.combine(digitCount)
        for digit in digits { hasher.combine(digit) }
    }
}
