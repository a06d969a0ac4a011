// The HTTP request target / query parser (Sources/EngineIO/Support/RequestTarget.swift),
// which reads `sid`, `EIO` and `transport` out of every Engine.IO request.
//
// Properties:
// - decode → encode → decode: the parsed path and query, written again with every byte
//   outside RFC 3986's unreserved set percent-encoded, parse to the same path and query.
// - The first occurrence of a name wins; a target without `?` has an empty query; a path
//   without `%` is taken as it is.
import FuzzSupport

@testable import EngineIO

func percentEncoded(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let digits = Array("0123456789ABCDEF".utf8)
            out += "%" + String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
        }
    }
    return out
}

func fuzzRequestTarget(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    // NIO hands the handler the target as a String decoded from the request line.
    let uri = String(decoding: input, as: UTF8.self)
    let target = RequestTarget(uri)

    let bytes = Array(uri.utf8)
    if !bytes.contains(UInt8(ascii: "?")) { require(target.query.isEmpty, "a query without `?`") }
    if !bytes.contains(UInt8(ascii: "%")) {
        let rawPath = bytes.prefix { $0 != UInt8(ascii: "?") }
        require(Array(target.path.utf8) == Array(rawPath), "a path without escapes was changed")
    }
    // The first occurrence wins: look the names up in order.
    if let mark = bytes.firstIndex(of: UInt8(ascii: "?")) {
        var seen: Set<String> = []
        for pair in bytes[(mark + 1)...].split(separator: UInt8(ascii: "&")) {
            let single = RequestTarget("/?" + String(decoding: pair, as: UTF8.self))
            guard let (name, value) = single.query.first else { continue }
            if seen.insert(name).inserted {
                require(target.query[name] == value, "the first occurrence of a query name did not win")
            }
        }
    }

    // decode → encode → decode.
    var encoded = percentEncoded(target.path)
    if !target.query.isEmpty || bytes.contains(UInt8(ascii: "?")) {
        encoded +=
            "?"
            + target.query.sorted { $0.key < $1.key }.map { percentEncoded($0.key) + "=" + percentEncoded($0.value) }.joined(separator: "&")
    }
    let again = RequestTarget(encoded)
    require(again == target, "decode → encode → decode changed the target: \(target) → \(encoded) → \(again)")
    return 0
}
