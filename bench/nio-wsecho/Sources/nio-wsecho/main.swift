import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

// nio-wsecho [--port P]: echoes every text or binary WebSocket message back, one write and
// flush per message, on one event loop thread. A request that is not a WebSocket upgrade gets
// `200 ok` on its keep-alive connection: the plain HTTP ceiling of the same stack (what
// Engine.IO's long-polling runs on), measured with wrk.

final class Echo: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            let reply = WebSocketFrame(fin: true, opcode: frame.opcode, data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }
}

/// Answers every plain HTTP request with `200` and the body `ok`, keeping the connection.
final class PlainHTTP: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        var head = HTTPResponseHead(version: .http1_1, status: .ok)
        head.headers.add(name: "Content-Length", value: "2")
        head.headers.add(name: "Content-Type", value: "text/plain; charset=UTF-8")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: "ok")))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

var port = 3000
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    if argument == "--port", let value = arguments.next(), let number = Int(value) { port = number }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let upgrader = NIOWebSocketServerUpgrader(
    maxFrameSize: 1 << 20,
    shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
    upgradePipelineHandler: { channel, _ in
        channel.eventLoop.makeCompletedFuture {
            let plain = try channel.pipeline.syncOperations.handler(type: PlainHTTP.self)
            channel.pipeline.syncOperations.removeHandler(plain, promise: nil)
            try channel.pipeline.syncOperations.addHandlers([
                NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024, maxAccumulatedFrameSize: 1 << 20),
                Echo(),
            ])
        }
    }
)
let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline(withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in })).flatMap {
            channel.pipeline.addHandler(PlainHTTP())
        }
    }
let channel = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
print("nio-wsecho listening on \(channel.localAddress!)")
try channel.closeFuture.wait()
