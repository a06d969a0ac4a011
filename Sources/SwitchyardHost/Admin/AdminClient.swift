import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchyardJSON

/// Talks to a running server's admin endpoint (what `kick`, `broadcast`, `purge-room` and
/// `inspect --live` use).
///
/// By default it finds the endpoint and its token in `<data>/admin.json`, which the server
/// writes at start (mode 0600), so an operator on the same machine needs no flags.
public struct AdminClient: Sendable {
    public var url: String
    public var token: String
    public var actor: String

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(url: String, token: String, actor: String = AdminClient.defaultActor) {
        self.url = url
        self.token = token
        self.actor = actor
    }

    /// `user@host`, for the audit trail.
    public static var defaultActor: String {
        "\(ProcessInfo.processInfo.environment["USER"] ?? "unknown")@\(ProcessInfo.processInfo.hostName)"
    }

    /// Reads `<data>/admin.json`; explicit values win.
    public static func locate(dataDirectory: String, url: String?, token: String?) throws -> AdminClient {
        let path = (dataDirectory as NSString).appendingPathComponent("admin.json")
        let file = FileManager.default.contents(atPath: path).flatMap { try? JSONValue(parsing: Array($0)) }
        guard let resolvedURL = url ?? file?["url"]?.stringValue else {
            throw Failure(description: "no admin endpoint: \(path) is missing (is the server running with this --data directory?); give --admin URL")
        }
        guard let resolvedToken = token ?? ProcessInfo.processInfo.environment["SWITCHYARD_ADMIN_TOKEN"] ?? file?["token"]?.stringValue else {
            throw Failure(description: "no admin token: give --token, set SWITCHYARD_ADMIN_TOKEN, or run where \(path) is readable")
        }
        return AdminClient(url: resolvedURL, token: resolvedToken)
    }

    /// Sends a request; returns the status and the JSON body.
    public func send(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws -> (status: Int, body: JSONValue) {
        guard let components = URLComponents(string: url), let host = components.host else {
            throw Failure(description: "invalid admin URL \(url)")
        }
        let port = components.port ?? 80
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: (HTTPResponseHead, ByteBuffer).self)
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.pipeline.addHTTPClientHandlers().flatMap {
                        channel.pipeline.addHandler(ResponseCollector(promise: promise))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw Failure(description: "cannot reach the admin endpoint at \(url): \(error)")
        }
        var headers: HTTPHeaders = ["Host": "\(host):\(port)", "Authorization": "Bearer \(token)", "X-Switchyard-Actor": actor, "Connection": "close"]
        let bytes = body?.serializedBytes() ?? []
        if body != nil {
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(bytes.count))
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if body != nil { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: bytes))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let (response, responseBody) = try await promise.futureResult.get()
        try? await channel.close()
        let json = (try? responseBody.withUnsafeReadableBytes { bytes throws(JSONParseError) in try JSONValue(parsing: bytes) }) ?? .string(String(buffer: responseBody))
        return (Int(response.status.code), json)
    }

    private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let promise: EventLoopPromise<(HTTPResponseHead, ByteBuffer)>
        var head: HTTPResponseHead?
        var body = ByteBuffer()

        init(promise: EventLoopPromise<(HTTPResponseHead, ByteBuffer)>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): self.head = head
            case .body(var part): body.writeBuffer(&part)
            case .end:
                if let head { promise.succeed((head, body)) }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Failure(description: "the admin endpoint closed the connection"))
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise.fail(error)
            context.close(promise: nil)
        }
    }
}
