import EngineIO
import NIOCore

/// The reference server of the official Engine.IO protocol test suite: echoes every
/// message, text or binary. Mounted at `engineioEcho` when configured.
public struct EngineIOEchoApplication: EngineIOApplication {
    public init() {}

    public func sessionOpened(_ connection: EngineIOConnection) -> any EngineIOConnectionHandler {
        Echo(connection: connection)
    }

    final class Echo: EngineIOConnectionHandler {
        let connection: EngineIOConnection
        init(connection: EngineIOConnection) { self.connection = connection }

        func didReceive(text: ByteBuffer) {
            connection.send(.text(capacity: text.readableBytes) { $0.writeImmutableBuffer(text) })
        }

        func didReceive(binary: ByteBuffer) {
            connection.send(.binary(binary))
        }

        func didClose(reason: EngineIOCloseReason) {}
    }
}
