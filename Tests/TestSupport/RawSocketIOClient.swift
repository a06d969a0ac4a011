import Foundation
import SwitchyardJSON
import Testing

/// A Socket.IO client speaking raw frames over the embedded pipeline.
public struct RawSocketIOClient {
    public let connection: EmbeddedConnection

    public static func open(_ server: EmbeddedServer, query: String = "", headers: [(String, String)] = []) throws -> RawSocketIOClient {
        let connection = try server.connect()
        let response = try #require(try connection.upgrade("/socket.io/?EIO=4&transport=websocket" + query, headers: headers))
        #expect(response.status == 101)
        let open = try connection.readTexts()
        #expect(open.first?.hasPrefix("0{") == true)
        return RawSocketIOClient(connection: connection)
    }

    public func send(_ socketIOPacket: String) throws { try connection.sendText("4" + socketIOPacket) }

    /// Socket.IO packets received since the last read (pings skipped).
    public func received() throws -> [String] {
        try connection.readFrames().compactMap { frame in
            guard frame.isText, frame.text.hasPrefix("4") else { return nil }
            return String(frame.text.dropFirst())
        }
    }

    public func frames() throws -> [EmbeddedFrame] { try connection.readFrames() }

    /// Joins a namespace; returns the socket id.
    public func join(_ namespace: String = "/", auth: String = "") throws -> String {
        let prefix = namespace == "/" ? "" : namespace + ","
        try send("0" + prefix + auth)
        let packets = try received()
        let connect = try #require(packets.first)
        #expect(connect.hasPrefix("0" + prefix + "{\"sid\":"))
        let json = try JSONValue(parsing: String(connect.dropFirst(1 + prefix.count)))
        return try #require(json["sid"]?.stringValue)
    }
}

