// The MessagePack codec (Sources/SwitchyardMessagePack), which reads every message other
// nodes publish on the Redis backplane and every packet of a msgpack-parser client.
//
// Properties:
// - decode → encode → decode is stable: a decoded value encodes to bytes that decode to a
//   value encoding to the same bytes (bytes, not values, are compared: NaN ≠ NaN).
// - The encoder writes the shortest form: re-encoding never makes the bytes longer.
// - The JSON bridge is stable too: value → JSON → MessagePack → JSON gives the same JSON.
import FuzzSupport
import NIOCore
import SwitchyardJSON
import SwitchyardMessagePack

func fuzzMessagePack(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let value: MessagePackValue
    do throws(MessagePackError) {
        value = try MessagePackValue(decoding: input)
    } catch {
        return 0
    }
    let encoded = value.encoded()
    require(encoded.readableBytes <= input.count, "re-encoding made \(input.count) bytes into \(encoded.readableBytes)")
    let again: MessagePackValue
    do throws(MessagePackError) {
        again = try MessagePackValue(decoding: encoded)
    } catch {
        propertyViolated("the encoder wrote bytes the decoder refuses: \(error)")
    }
    require(again.encoded() == encoded, "decode → encode → decode → encode changed the bytes")

    var attachments: [ByteBuffer] = []
    let json = JSONValue(messagePack: value, attachments: &attachments)
    let back = MessagePackValue(json: json, attachments: attachments)
    var attachmentsAgain: [ByteBuffer] = []
    let jsonAgain = JSONValue(messagePack: back, attachments: &attachmentsAgain)
    require(jsonAgain == json, "JSON → MessagePack → JSON changed \(json.serialized()) into \(jsonAgain.serialized())")
    require(attachmentsAgain == attachments, "JSON → MessagePack → JSON changed the attachments")
    return 0
}
