import NIOCore
import Testing

@testable import EngineIO

/// The session state machine, driven directly with explicit times.
@Suite("Engine.IO session state machine")
struct SessionStateMachineTests {
    let timing = EngineIOSessionStateMachine.Timing(
        pingInterval: .milliseconds(300),
        pingTimeout: .milliseconds(200),
        upgradeTimeout: .milliseconds(1000)
    )
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }

    func message(_ text: String) -> EngineIOOutboundPacket {
        OutboundMessage.text(text).packet
    }

    func inbound(_ text: String) throws -> EngineIOInboundPacket {
        try EngineIOInboundPacket.decodeText(ByteBuffer(string: text))
    }

    // MARK: Heartbeat

    @Test("The first ping is due one ping interval after opening")
    func firstPingDeadline() {
        let machine = EngineIOSessionStateMachine(transport: .websocket, timing: timing, now: start)
        #expect(machine.nextDeadline == at(300))
    }

    @Test("Nothing happens before the ping is due")
    func noEarlyPing() {
        var machine = EngineIOSessionStateMachine(transport: .websocket, timing: timing, now: start)
        #expect(machine.deadlineReached(now: at(299)) == .none)
    }

    @Test("A WebSocket session pings at the interval and expects the pong within the timeout")
    func pingOnWebSocket() {
        var machine = EngineIOSessionStateMachine(transport: .websocket, timing: timing, now: start)
        #expect(machine.deadlineReached(now: at(300)) == .sendPing(.writeWebSocket(.ping)))
        #expect(machine.nextDeadline == at(500))
        #expect(machine.deadlineReached(now: at(300)) == .none)
    }

    @Test("A pong schedules the next ping one interval after it arrived")
    func pongReschedules() throws {
        var machine = EngineIOSessionStateMachine(transport: .websocket, timing: timing, now: start)
        _ = machine.deadlineReached(now: at(300))
        #expect(machine.packetReceived(try inbound("3"), now: at(350)) == .ignore)
        #expect(machine.nextDeadline == at(650))
        #expect(machine.isOpen)
    }

    @Test("Packets may be written straight into a WebSocket frame only while the session is open on it")
    func directWritesOnlyOnOpenWebSocket() {
        var websocket = EngineIOSessionStateMachine(transport: .websocket, timing: timing, now: start)
        #expect(websocket.sendsDirectlyOverWebSocket)
        _ = websocket.deadlineReached(now: at(300))
        _ = websocket.deadlineReached(now: at(500))  // no pong: closed
        #expect(!websocket.sendsDirectlyOverWebSocket)
        let polling = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        #expect(!polling.sendsDirectlyOverWebSocket)
    }

    @Test("No pong within the timeout closes the session with 'ping timeout'")
    func pingTimeout() {
        var machine = EngineIOSessionStateMachine(transport: .websocket, timing: timing, now: start)
        _ = machine.deadlineReached(now: at(300))
        let action = machine.deadlineReached(now: at(500))
        #expect(action == .close(.closed(reason: .pingTimeout, answerParkedPoll: nil, closeWebSocket: true, closeProbe: false, awaitFinalPoll: false)))
        #expect(machine.isFinished)
        #expect(machine.nextDeadline == nil)
    }

    @Test("The pong is due pingTimeout after the ping was due, even when its timer fired late")
    func pongDeadlineFollowsTheSchedule() {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        // The ping timer fires 40 ms late (a busy loop): the session still ends at 300 + 200.
        #expect(machine.deadlineReached(now: at(340)) == .sendPing(.queued))
        #expect(machine.nextDeadline == at(500))
        let action = machine.deadlineReached(now: at(500))
        #expect(action == .close(.closed(reason: .pingTimeout, answerParkedPoll: nil, closeWebSocket: false, closeProbe: false, awaitFinalPoll: false)))
        // A poll that arrives after the pong deadline finds the session gone (the official
        // suite's "closes the session upon ping timeout" polls at exactly 300 + 200 ms).
        #expect(machine.pollRequestArrived() == .rejectClosed)
    }

    @Test("A ping sent very late (a stalled loop) still leaves the client half of pingTimeout")
    func stalledPingKeepsHalfTheTimeout() {
        var machine = EngineIOSessionStateMachine(transport: .websocket, timing: timing, now: start)
        #expect(machine.deadlineReached(now: at(900)) == .sendPing(.writeWebSocket(.ping)))
        #expect(machine.nextDeadline == at(1000))
        #expect(machine.deadlineReached(now: at(999)) == .none)
    }

    @Test("A polling session's ping waits in the queue until the next poll")
    func pingQueuedOnPolling() {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        #expect(machine.deadlineReached(now: at(300)) == .sendPing(.queued))
        #expect(machine.pollRequestArrived() == .respond([.ping]))
    }

    @Test("A polling session's ping answers a parked poll at once")
    func pingReleasesParkedPoll() {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        #expect(machine.pollRequestArrived() == .park)
        #expect(machine.deadlineReached(now: at(300)) == .sendPing(.respondToPoll([.ping])))
        #expect(!machine.hasParkedPoll)
    }

    @Test("A ping from a v4 client violates the heartbeat direction and closes with 'transport error'")
    func clientPingCloses() throws {
        var machine = EngineIOSessionStateMachine(transport: .websocket, timing: timing, now: start)
        let action = machine.packetReceived(try inbound("2"), now: at(10))
        guard case .close(.closed(reason: .transportError, _, _, _, _)) = action else {
            Issue.record("expected a close, got \(action)")
            return
        }
    }

    // MARK: Polling

    @Test("Messages sent while no poll is parked are answered together, in order, by the next poll")
    func queuedMessagesFlushInOrder() {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        #expect(machine.send(message("a")) == .queued)
        #expect(machine.send(message("b")) == .queued)
        #expect(machine.pollRequestArrived() == .respond([message("a"), message("b")]))
        #expect(machine.pollRequestArrived() == .park)
    }

    @Test("A message sent while a poll is parked answers it")
    func messageAnswersParkedPoll() {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        #expect(machine.pollRequestArrived() == .park)
        #expect(machine.send(message("a")) == .respondToPoll([message("a")]))
        #expect(machine.send(message("b")) == .queued)
    }

    @Test("A second poll while one is parked closes the session; the parked one gets the close packet")
    func duplicatePoll() {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        _ = machine.pollRequestArrived()
        let action = machine.pollRequestArrived()
        #expect(action == .rejectDuplicate(.closed(reason: .transportError, answerParkedPoll: [.close], closeWebSocket: false, closeProbe: false, awaitFinalPoll: false)))
        #expect(machine.pollRequestArrived() == .rejectClosed)
    }

    @Test("A close packet from the client closes with 'transport close' and releases the parked poll with noop")
    func clientClosePacket() throws {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        _ = machine.pollRequestArrived()
        let action = machine.packetReceived(try inbound("1"), now: at(5))
        #expect(action == .close(.closed(reason: .transportClose, answerParkedPoll: [.noop], closeWebSocket: false, closeProbe: false, awaitFinalPoll: false)))
    }

    @Test("A client close that overtakes its own poll: that poll gets noop, the next one is refused")
    func clientCloseRacingItsPoll() throws {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        #expect(machine.send(message("dropped")) == .queued)
        let action = machine.packetReceived(try inbound("1"), now: at(5))
        #expect(action == .close(.closed(reason: .transportClose, answerParkedPoll: nil, closeWebSocket: false, closeProbe: false, awaitFinalPoll: true)))
        #expect(!machine.isOpen)
        #expect(machine.pollRequestArrived() == .respondAndFinish([.noop]))
        #expect(machine.isFinished)
        #expect(machine.pollRequestArrived() == .rejectClosed)
    }

    @Test("A client close whose poll never comes is finished after pingTimeout")
    func clientCloseWithoutAPoll() throws {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        _ = machine.packetReceived(try inbound("1"), now: at(5))
        #expect(machine.nextDeadline == at(205))
        #expect(machine.deadlineReached(now: at(204)) == .none)
        #expect(machine.deadlineReached(now: at(205)) == .finishClosing)
        #expect(machine.isFinished)
        #expect(machine.pollRequestArrived() == .rejectClosed)
    }

    @Test("Messages are delivered; noop, open and upgrade packets on the transport are ignored")
    func inboundKinds() throws {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        #expect(machine.packetReceived(try inbound("4hi"), now: start) == .deliverText(ByteBuffer(string: "hi")))
        let binary = EngineIOInboundPacket(type: .message, payload: .binary(ByteBuffer(bytes: [1, 2])))
        #expect(machine.packetReceived(binary, now: start) == .deliverBinary(ByteBuffer(bytes: [1, 2])))
        #expect(machine.packetReceived(try inbound("6"), now: start) == .ignore)
        #expect(machine.packetReceived(try inbound("0"), now: start) == .ignore)
        #expect(machine.packetReceived(try inbound("5"), now: start) == .ignore)
    }

    @Test("Messages never read the clock; a pong does, and moves the next ping from its time")
    func clockReadOnlyWhenNeeded() throws {
        var machine = EngineIOSessionStateMachine(transport: .websocket, timing: timing, now: start)
        var reads = 0
        func clock(_ milliseconds: Int64) -> NIODeadline {
            reads += 1
            return at(milliseconds)
        }
        #expect(machine.packetReceived(try inbound("4hi"), now: clock(10)) == .deliverText(ByteBuffer(string: "hi")))
        let binary = EngineIOInboundPacket(type: .message, payload: .binary(ByteBuffer(bytes: [1])))
        #expect(machine.packetReceived(binary, now: clock(20)) == .deliverBinary(ByteBuffer(bytes: [1])))
        #expect(reads == 0)
        #expect(machine.deadlineReached(now: at(300)) == .sendPing(.writeWebSocket(.ping)))
        #expect(machine.packetReceived(try inbound("3"), now: clock(350)) == .ignore)
        #expect(reads == 1)
        #expect(machine.nextDeadline == at(650))
    }

    @Test("The parked poll's connection dropping closes the session with 'transport error'")
    func abandonedPoll() {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        _ = machine.pollRequestArrived()
        guard case .closed(reason: .transportError, _, _, _, _) = machine.parkedPollAbandoned() else {
            Issue.record("expected a transport error close")
            return
        }
    }

    // MARK: Upgrade

    @Test("Upgrade: probe answered, parked poll released with noop, queued packets flushed on '5' in order")
    func upgradeFlow() throws {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        #expect(machine.pollRequestArrived() == .park)
        #expect(machine.upgradeRequested(now: at(10)) == true)
        #expect(machine.probePacketReceived(try inbound("2probe")) == .answerProbe(releaseParkedPoll: true))
        // While the upgrade completes, sends queue.
        #expect(!machine.sendsDirectlyOverWebSocket)
        #expect(machine.send(message("first")) == .queued)
        #expect(machine.send(message("second")) == .queued)
        #expect(machine.probePacketReceived(try inbound("5")) == .completeUpgrade(releaseParkedPoll: false, flush: [message("first"), message("second")]))
        #expect(machine.transport == .websocket)
        #expect(machine.sendsDirectlyOverWebSocket)
        #expect(machine.send(message("third")) == .writeWebSocket(message("third")))
        #expect(machine.pollRequestArrived() == .rejectTransportMismatch)
    }

    @Test("A poll arriving after the probe is answered with noop at once")
    func pollDuringUpgrade() throws {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        _ = machine.upgradeRequested(now: at(0))
        _ = machine.probePacketReceived(try inbound("2probe"))
        #expect(machine.pollRequestArrived() == .respond([.noop]))
    }

    @Test("Only one upgrade at a time, and none for a WebSocket session")
    func singleUpgrade() {
        var polling = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        #expect(polling.upgradeRequested(now: start) == true)
        #expect(polling.upgradeRequested(now: start) == false)
        var websocket = EngineIOSessionStateMachine(transport: .websocket, timing: timing, now: start)
        #expect(websocket.upgradeRequested(now: start) == false)
    }

    @Test("A message on the probe transport before '5' aborts the upgrade; the session stays on polling")
    func upgradeAbortedByMessage() throws {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        _ = machine.upgradeRequested(now: start)
        #expect(machine.probePacketReceived(try inbound("4early")) == .abortUpgrade)
        #expect(machine.transport == .polling)
        #expect(!machine.isUpgrading)
        #expect(machine.upgradeRequested(now: start) == true)
    }

    @Test("An upgrade not completed within upgradeTimeout is aborted")
    func upgradeTimeout() {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        _ = machine.upgradeRequested(now: at(100))
        // The ping (300 ms) comes first, then the upgrade deadline (1100 ms).
        #expect(machine.deadlineReached(now: at(300)) == .sendPing(.queued))
        _ = machine.pollRequestArrived()
        _ = machine.packetReceived(EngineIOInboundPacket(type: .pong, payload: .text(ByteBuffer())), now: at(310))
        #expect(machine.nextDeadline == at(610))
        _ = machine.deadlineReached(now: at(610))
        _ = machine.packetReceived(EngineIOInboundPacket(type: .pong, payload: .text(ByteBuffer())), now: at(620))
        _ = machine.deadlineReached(now: at(920))
        _ = machine.packetReceived(EngineIOInboundPacket(type: .pong, payload: .text(ByteBuffer())), now: at(930))
        #expect(machine.nextDeadline == at(1100))
        #expect(machine.deadlineReached(now: at(1100)) == .abortUpgrade)
        #expect(machine.transport == .polling)
        #expect(machine.isOpen)
    }

    // MARK: Closing

    @Test("A server close with a parked poll answers it with the queued packets and the close packet")
    func serverCloseWithParkedPoll() {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        _ = machine.pollRequestArrived()
        let action = machine.close(.forcedClose, now: at(1))
        #expect(action == .closed(reason: .forcedClose, answerParkedPoll: [.close], closeWebSocket: false, closeProbe: false, awaitFinalPoll: false))
    }

    @Test("A server close without a parked poll waits for the final poll, which gets queued packets then close")
    func serverCloseAwaitsFinalPoll() {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        _ = machine.send(message("bye"))
        #expect(machine.close(.forcedClose, now: at(1)) == .closed(reason: .forcedClose, answerParkedPoll: nil, closeWebSocket: false, closeProbe: false, awaitFinalPoll: true))
        #expect(!machine.isOpen)
        #expect(machine.send(message("late")) == .dropped)
        #expect(machine.pollRequestArrived() == .respondAndFinish([message("bye"), .close]))
        #expect(machine.isFinished)
    }

    @Test("A closing session whose final poll never comes is finished at the deadline")
    func closingDeadline() {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        _ = machine.close(.serverShuttingDown, now: at(0))
        #expect(machine.nextDeadline == at(500))
        #expect(machine.deadlineReached(now: at(499)) == .none)
        #expect(machine.deadlineReached(now: at(500)) == .finishClosing)
        #expect(machine.isFinished)
    }

    @Test("Closing twice does nothing the second time")
    func closeIsIdempotent() {
        var machine = EngineIOSessionStateMachine(transport: .websocket, timing: timing, now: start)
        _ = machine.close(.forcedClose)
        #expect(machine.close(.forcedClose) == .none)
    }

    @Test("Closing during an upgrade closes the probe transport too")
    func closeDuringUpgrade() {
        var machine = EngineIOSessionStateMachine(transport: .polling, timing: timing, now: start)
        _ = machine.upgradeRequested(now: start)
        #expect(machine.close(.pingTimeout) == .closed(reason: .pingTimeout, answerParkedPoll: nil, closeWebSocket: false, closeProbe: true, awaitFinalPoll: false))
    }
}
