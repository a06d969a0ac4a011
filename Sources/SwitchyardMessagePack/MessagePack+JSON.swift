import NIOCore
import SwitchyardJSON

/// Conversions between JSON values (how Switchyard holds event arguments) and MessagePack
/// values (how the socket.io Redis adapter carries them).
///
/// Binary attachments are inline `bin` values in MessagePack and
/// `{"_placeholder":true,"num":N}` objects plus an attachment list in Socket.IO's JSON form;
/// the conversions move between the two, so a binary event crosses a mixed cluster intact.
extension MessagePackValue {
    /// The MessagePack form of a JSON value; placeholders are replaced by their attachment.
    public init(json: JSONValue, attachments: [ByteBuffer] = []) {
        switch json {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .number(let number):
            if let value = Int64(number.literal) {
                self = .int(value)
            } else if let value = UInt64(number.literal) {
                self = .uint(value)
            } else {
                let double = number.doubleValue
                // `1e3` and `2.0` are integers to JavaScript; keep them compact.
                if let exact = Int64(exactly: double), abs(double) < 9_007_199_254_740_992 {
                    self = .int(exact)
                } else {
                    self = .double(double)
                }
            }
        case .string(let string): self = .string(string)
        case .array(let array): self = .array(array.map { MessagePackValue(json: $0, attachments: attachments) })
        case .object(let object):
            if !attachments.isEmpty, object["_placeholder"] == .bool(true),
                let index = object["num"]?.intValue, attachments.indices.contains(index)
            {
                self = .binary(attachments[index])
                return
            }
            self = .map(
                object.map { MessagePackPair(key: .string($0.key), value: MessagePackValue(json: $0.value, attachments: attachments)) })
        }
    }
}

extension JSONValue {
    /// The JSON form of a MessagePack value. `bin` values become placeholders numbered in
    /// the order they are met and are appended to `attachments`; map keys that are not
    /// strings are written as their JSON text; extension values (notepack's `undefined`)
    /// and non-finite floats become `null`.
    public init(messagePack value: MessagePackValue, attachments: inout [ByteBuffer]) {
        switch value {
        case .null, .extended: self = .null
        case .bool(let value): self = .bool(value)
        case .int(let value): self = .number(JSONNumber(value))
        case .uint(let value): self = .number(JSONNumber(value))
        case .float(let value): self = value.isFinite ? .number(JSONNumber(Double(value))) : .null
        case .double(let value): self = value.isFinite ? .number(JSONNumber(value)) : .null
        case .string(let string): self = .string(string)
        case .binary(let bytes):
            self = .object(["_placeholder": true, "num": .number(JSONNumber(attachments.count))])
            attachments.append(bytes)
        case .array(let elements):
            var converted: [JSONValue] = []
            converted.reserveCapacity(elements.count)
            for element in elements { converted.append(JSONValue(messagePack: element, attachments: &attachments)) }
            self = .array(converted)
        case .map(let pairs):
            var object = JSONObject()
            for pair in pairs {
                let key: String
                if case .string(let string) = pair.key {
                    key = string
                } else {
                    var ignored: [ByteBuffer] = []
                    key = JSONValue(messagePack: pair.key, attachments: &ignored).serialized()
                }
                object[key] = JSONValue(messagePack: pair.value, attachments: &attachments)
            }
            self = .object(object)
        }
    }

    /// The JSON form of a MessagePack value that carries no binary.
    public init(messagePack value: MessagePackValue) {
        var attachments: [ByteBuffer] = []
        self.init(messagePack: value, attachments: &attachments)
    }
}
