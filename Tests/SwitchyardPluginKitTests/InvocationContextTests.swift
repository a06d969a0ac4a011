import CSwitchyardPlugin
import Testing

@testable import SwitchyardPluginKit

/// A synchronous operation reads its context in the host's memory; the SDK copies it only
/// when the operation keeps its invocation beyond the call (Export.swift, invokeTrampoline).
@Suite("Plugin SDK: the invocation context, borrowed or kept")
struct InvocationContextTests {
    /// Runs `body` with an invocation over host-owned bytes (`borrowingContext`) the way the
    /// trampoline does, then scribbles over those bytes as the host may once the call returned.
    func call(_ body: (Invocation) -> Void) -> (after: Invocation, bytes: [UInt8]) {
        var context = Array(#"{"socketId":"abc","namespace":"/room","rooms":["abc","r1"]}"#.utf8)
        let arguments = Array("[1]".utf8)
        var kept: Invocation!
        context.withUnsafeBufferPointer { contextBytes in
            arguments.withUnsafeBufferPointer { argumentBytes in
                "event".withCString { event in
                    var raw = sy_invocation(
                        struct_size: UInt32(MemoryLayout<sy_invocation>.size),
                        arguments_json: sy_bytes(data: argumentBytes.baseAddress, length: argumentBytes.count),
                        attachments: sy_attachments(items: nil, count: 0),
                        context_json: sy_bytes(data: contextBytes.baseAddress, length: contextBytes.count),
                        event: event,
                        host: nil
                    )
                    withUnsafePointer(to: &raw) { pointer in
                        var invocation = Invocation(pointer, borrowingContext: true)
                        body(invocation)
                        invocation.context.keepIfShared()
                        kept = invocation
                    }
                }
            }
        }
        for index in context.indices { context[index] = UInt8(ascii: "x") }
        return (kept, context)
    }

    @Test("Read during the call, the host's bytes are used and never copied")
    func readInPlace() {
        var seen = ""
        let (after, _) = call { invocation in seen = invocation.context.socketID + invocation.context.namespace }
        #expect(seen == "abc/room")
        // Only the call's own invocation held the storage: nothing was copied.
        #expect(after.context.isBorrowingHostBytes)
    }

    @Test("An invocation kept beyond the call gets its own copy before the call returns")
    func keptBeyondTheCall() throws {
        nonisolated(unsafe) var escaped: Invocation?
        let (_, scribbled) = call { invocation in escaped = invocation }
        #expect(scribbled.allSatisfy { $0 == UInt8(ascii: "x") })
        let context = try #require(escaped).context
        #expect(!context.isBorrowingHostBytes)
        #expect(context.socketID == "abc")
        #expect(context.rooms == ["abc", "r1"])
    }

    @Test("An invocation parsed during the call and kept keeps the parsed value")
    func parsedThenKept() {
        nonisolated(unsafe) var escaped: Invocation?
        _ = call { invocation in
            _ = invocation.context.namespace
            escaped = invocation
        }
        #expect(escaped?.context.namespace == "/room")
    }
}
