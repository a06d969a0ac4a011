import NIOHTTP1
import Testing

@testable import EngineIO

/// The handshake's `Sec-WebSocket-Accept` and the SHA-1 under it.
@Suite("WebSocket upgrade")
struct WebSocketUpgradeTests {
    func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    @Test("SHA-1 of the FIPS 180 and RFC 3174 test messages, and around the 55/56/64-byte padding edges")
    func sha1Vectors() {
        #expect(hex(SHA1.hash("".utf8)) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hex(SHA1.hash("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(SHA1.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(hex(SHA1.hash(Array(repeating: UInt8(ascii: "a"), count: 1_000_000))) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        // RFC 3174 §7.3 test 4: "01234567" × 80.
        #expect(hex(SHA1.hash(Array(String(repeating: "01234567", count: 80).utf8))) == "dea356a2cddd90c7a7ecedc5ebb563934f460452")
        // Lengths around the padding boundaries (the 8-byte length must fit after 0x80):
        // compared with feeding the same bytes one at a time.
        for length in [55, 56, 57, 63, 64, 65, 119, 120, 128] {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            var piecewise = SHA1()
            for byte in message { piecewise.update(CollectionOfOne(byte)) }
            #expect(piecewise.finish() == SHA1.hash(message), "length \(length)")
        }
        #expect(hex(SHA1.hash(Array(repeating: UInt8(ascii: "a"), count: 55))) == "c1c8bbdc22796e28c0e15163d20899b65621d65a")
        #expect(hex(SHA1.hash(Array(repeating: UInt8(ascii: "a"), count: 56))) == "c2db330f6083854c99d4b5bfb6e8f29f201be699")
        #expect(hex(SHA1.hash(Array(repeating: UInt8(ascii: "a"), count: 64))) == "0098ba824b5c16427bd7a1122a5a442a25ec644d")
    }

    @Test("Sec-WebSocket-Accept of RFC 6455's example key")
    func acceptOfTheRFCExample() {
        // RFC 6455 §1.3.
        #expect(WebSocketHandshake.accept(key: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    /// The one-pass reading must see what `HTTPHeaders[canonicalForm:]` and the lookups it
    /// replaced saw: compared with them on every combination of these values.
    @Test("The handshake's one pass over the headers reads what NIO's canonical-form lookups read")
    func requestHeadersMatchCanonicalForm() {
        let keyValues: [[String]] = [
            [], ["dGhlIHNhbXBsZSBub25jZQ=="], ["  dGhlIHNhbXBsZSBub25jZQ==\t"], [""], ["   "], ["a,b"], [",dGhlIHNhbXBsZSBub25jZQ==,"],
            ["dGhlIHNhbXBsZSBub25jZQ==", "x3JJHMbDL1EzLkh9GBhXDw=="], ["dGhlIHNhbXBsZSBub25jZQ==", ""], [",", "k"],
        ]
        let connectionValues: [[String]] = [[], ["Upgrade"], ["keep-alive, UPGRADE"], ["keep-alive"], ["upgrade2"], ["close", " upgrade "]]
        let upgradeValues: [[String]] = [[], ["websocket"], ["WebSocket"], ["websocket, h2c"], ["h2c", "websocket"], [" websocket"]]
        for keys in keyValues {
            for connection in connectionValues {
                for upgrade in upgradeValues {
                    var headers = HTTPHeaders()
                    for value in connection { headers.add(name: "Connection", value: value) }
                    for value in upgrade { headers.add(name: "upgrade", value: value) }
                    for value in keys {
                        headers.add(name: "Sec-WebSocket-Key", value: value)
                        headers.add(name: "SEC-WEBSOCKET-VERSION", value: value)
                    }
                    headers.add(name: "Host", value: "example.com")
                    let read = WebSocketHandshake.RequestHeaders(headers)
                    let canonicalKey = headers[canonicalForm: "sec-websocket-key"]
                    #expect(read.key.onlyElement == (canonicalKey.count == 1 ? canonicalKey[0] : nil), "\(keys)")
                    let canonicalVersion = headers[canonicalForm: "sec-websocket-version"]
                    #expect(read.version.onlyElement == (canonicalVersion.count == 1 ? canonicalVersion[0] : nil), "\(keys)")
                    let upgradeBefore = headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
                        && headers["upgrade"].contains { $0.lowercased() == "websocket" }
                    #expect(read.isUpgrade == upgradeBefore, "\(connection) \(upgrade)")
                }
            }
        }
    }
}
