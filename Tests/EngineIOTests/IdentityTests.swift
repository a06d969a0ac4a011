import NIOCore
import Foundation
import Testing

@testable import EngineIO

/// Session and socket ids: what the reference server's base64id makes (15 random bytes,
/// base64url, 20 characters), drawn from a pool that is refilled and never repeats bytes.
@Suite("Random ids")
struct RandomIDTests {
    static let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    @Test("Bytes are encoded as base64url, most significant bits first, as Foundation's base64 does")
    func encodingMatchesBase64() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let random: (UInt64, UInt64) = (generator.next(), generator.next())
            let bytes = withUnsafeBytes(of: random) { Array($0.prefix(15)) }
            let expected = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            #expect(RandomID.encode(random) == expected)
        }
        // Fixed bytes: 00 10 83 repeated is "ABCD" five times (RFC 4648's table); zeros are all "A".
        var known: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &known) { bytes in
            for group in 0..<5 { bytes[3 * group] = 0x00; bytes[3 * group + 1] = 0x10; bytes[3 * group + 2] = 0x83 }
        }
        #expect(RandomID.encode(known) == String(repeating: "ABCD", count: 5))
        #expect(RandomID.encode((0, 0)) == String(repeating: "A", count: 20))
        let ones: (UInt64, UInt64) = (.max, .max)
        #expect(RandomID.encode(ones) == String(repeating: "_", count: 20))
    }

    @Test("Ids across several pool refills are 20 base64url characters, all distinct")
    func idsAcrossRefills() {
        // 4096 / 15 = 273 ids per pool: 3,000 ids refill it ten times.
        var seen = Set<String>()
        var characters = Set<Character>()
        for _ in 0..<3_000 {
            let id = RandomID.make()
            #expect(id.utf8.count == RandomID.length)
            #expect(id.allSatisfy(Self.alphabet.contains))
            characters.formUnion(id)
            seen.insert(id)
        }
        #expect(seen.count == 3_000)
        // 60,000 characters drawn from 64: every one of them shows up.
        #expect(characters == Self.alphabet)
    }

    @Test("Every bit position of an id varies: no byte of the pool is stuck or handed out twice")
    func everyPositionVaries() {
        let ids = (0..<600).map { _ in Array(RandomID.make().utf8) }
        for position in 0..<RandomID.length {
            #expect(Set(ids.map { $0[position] }).count > 16, "position \(position)")
        }
    }

    @Test("The pool hands out each byte once and refills when a request does not fit")
    func poolRefills() {
        var pool = EntropyPool()
        var chunks: [[UInt8]] = []
        // 4096 = 30 * 136 + 16: the 31st request does not fit and takes a fresh pool.
        for _ in 0..<40 {
            var chunk = [UInt8](repeating: 0, count: 136)
            chunk.withUnsafeMutableBytes { pool.take(into: $0) }
            chunks.append(chunk)
        }
        #expect(Set(chunks).count == chunks.count)
        #expect(chunks.allSatisfy { $0.contains { $0 != 0 } })
    }

    @Test("Concurrent ids from several threads stay distinct")
    func concurrentIDs() async {
        let ids = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 { group.addTask { (0..<500).map { _ in RandomID.make() } } }
            var all: [String] = []
            for await part in group { all += part }
            return all
        }
        #expect(ids.count == 4_000)
        #expect(Set(ids).count == 4_000)
    }
}

/// A client's address as text: the same as NIO's `ipAddress` (inet_ntop), without sprintf.
@Suite("Address text")
struct AddressTextTests {
    @Test("IPv4 addresses read as NIO's ipAddress reads them, at every width of every octet")
    func ipv4MatchesInetNtop() throws {
        var addresses = ["0.0.0.0", "255.255.255.255", "127.0.0.1", "10.0.0.9", "192.168.100.10", "1.22.203.4", "100.10.1.0"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            addresses.append((0..<4).map { _ in String(UInt8.random(in: 0...255, using: &generator)) }.joined(separator: "."))
        }
        for text in addresses {
            let address = try SocketAddress(ipAddress: text, port: 443)
            #expect(address.ipAddressText == address.ipAddress)
            #expect(address.ipAddressText == text)
        }
    }

    @Test("IPv6 and Unix addresses fall back to NIO's text")
    func otherFamilies() throws {
        let v6 = try SocketAddress(ipAddress: "2001:db8::1", port: 443)
        #expect(v6.ipAddressText == "2001:db8::1")
        let unix = try SocketAddress(unixDomainSocketPath: "/tmp/switchyard.sock")
        #expect(unix.ipAddressText == nil)
    }
}
