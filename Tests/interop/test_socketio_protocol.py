"""The official Socket.IO v5 protocol test suite (socketio/socket.io-protocol, test-suite),
re-expressed against /socket.io/ (its Engine.IO part and its Socket.IO part), with stricter
checks:

- exact packets (namespace prefix, ack ids, placeholders, binary attachments byte for byte),
  and nothing unexpected in between: "no other packet" is proven by ordering, sending a
  `message` and requiring `message-back` to be the next packet, never by waiting;
- every close must happen within a deadline with pings answered meanwhile, so neither a ping
  timeout nor the connect timeout can be what makes a "closes upon ..." test pass;
- error replies (also of refused WebSocket upgrades) carry the exact {"code", "message"};
- the same Socket.IO exchanges over HTTP long-polling, rooms, server-side disconnect and
  the connect timeout.
"""
import json
import re
import time

import pytest

from rawclient import (
    assert_accepted_then_closed,
    assert_forceful_polling_close,
    CLOSE_DEADLINE,
    CONNECT_TIMEOUT,
    PING_INTERVAL,
    PING_TIMEOUT,
    REPLY_DEADLINE,
    SLACK,
    Polling,
    RawWebSocket,
    assert_error,
    assert_refused,
    parse_handshake,
    protocol_wait,
    websocket_url,
)

PATH = "/socket.io/"

PLACEHOLDERS = '{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}'
BIN_A = bytes([1, 2, 3])
BIN_B = bytes([4, 5, 6])


@pytest.fixture
def polling(server):
    return Polling(server.url, PATH)


def open_eio_websocket(server):
    socket, _ = RawWebSocket.open_session(server.ws_url, PATH, EIO=4, transport="websocket")
    return socket


def open_upgrade_socket(server, sid):
    return RawWebSocket(websocket_url(server.ws_url, PATH, EIO=4, transport="websocket", sid=sid))


def assert_connect_reply(packet, nsp="/"):
    """`40{"sid":"..."}` (main namespace) or `40/nsp,{"sid":"..."}`; returns the sid."""
    prefix = "40" if nsp == "/" else f"40{nsp},"
    assert isinstance(packet, str) and packet.startswith(prefix + "{"), f"CONNECT reply: {packet!r}"
    payload = json.loads(packet[len(prefix):])
    assert list(payload.keys()) == ["sid"], f"CONNECT payload: {payload!r}"
    assert isinstance(payload["sid"], str) and payload["sid"], payload
    return payload["sid"]


def sio_connect(socket, nsp="/", auth=None):
    """Sends CONNECT for `nsp` and checks the reply and the `auth` event; returns the sid."""
    prefix = "" if nsp == "/" else f"{nsp},"
    socket.send("40" + prefix + (json.dumps(auth, separators=(",", ":")) if auth is not None else ""))
    reply, auth_event = socket.collect(2)
    sid = assert_connect_reply(reply, nsp)
    expected_auth = json.dumps(auth if auth is not None else {}, separators=(",", ":"))
    assert auth_event == f'42{prefix}["auth",{expected_auth}]'
    return sid


@pytest.fixture
def sio(server):
    """A WebSocket connected to the main namespace."""
    socket = open_eio_websocket(server)
    sio_connect(socket)
    yield socket
    socket.close()


def assert_next(socket, expected):
    """The next packets other than pings are exactly `expected` (a list)."""
    assert socket.collect(len(expected)) == expected


def assert_nothing_pending(socket, nsp="/"):
    """Proves by ordering that nothing was queued for this socket: a `message` sent now must
    come back as the very next packet."""
    prefix = "" if nsp == "/" else f"{nsp},"
    socket.send(f'42{prefix}["message","sync"]')
    assert_next(socket, [f'42{prefix}["message-back","sync"]'])


# ============================================================================================
# Engine.IO protocol (on /socket.io/)


class TestEngineIOHandshakePolling:
    def test_should_successfully_open_a_session(self, polling):
        response = polling.request("GET", polling.params())
        assert response.status_code == 200
        assert "\x1e" not in response.text
        value = parse_handshake(response.text)
        assert value["upgrades"] == ["websocket"]
        other_sid, _ = polling.handshake()
        assert other_sid != value["sid"]

    @pytest.mark.parametrize("eio", [None, "abc", "3"])
    def test_should_fail_with_an_invalid_eio_query_parameter(self, polling, eio):
        params = {"transport": "polling"}
        if eio is not None:
            params["EIO"] = eio
        assert_error(polling.request("GET", params), 5)

    @pytest.mark.parametrize("transport", [None, "abc"])
    def test_should_fail_with_an_invalid_transport_query_parameter(self, polling, transport):
        params = {"EIO": "4"}
        if transport is not None:
            params["transport"] = transport
        assert_error(polling.request("GET", params), 0)

    @pytest.mark.parametrize("method", ["POST", "PUT"])
    def test_should_fail_with_an_invalid_request_method(self, polling, method):
        assert_error(polling.request(method, polling.params(), data=b"40"), 2)

    def test_should_fail_with_an_unknown_sid(self, polling):
        assert_error(polling.get("unknown-sid"), 1)
        assert_error(polling.post("unknown-sid", "40"), 1)


class TestEngineIOHandshakeWebSocket:
    def test_should_successfully_open_a_session(self, server):
        socket, value = RawWebSocket.open_session(server.ws_url, PATH, EIO=4, transport="websocket")
        try:
            assert value["upgrades"] == []
            # nothing but the first ping follows the open packet until the client connects
            assert socket.recv(timeout=PING_INTERVAL + SLACK) == "2"
        finally:
            socket.close()

    @pytest.mark.parametrize("eio", [None, "abc", "3"])
    def test_should_fail_with_an_invalid_eio_query_parameter(self, server, eio):
        params = {"transport": "websocket"}
        if eio is not None:
            params["EIO"] = eio
        assert_refused(server.ws_url, PATH, 5, **params)

    @pytest.mark.parametrize("transport", [None, "abc"])
    def test_should_fail_with_an_invalid_transport_query_parameter(self, server, transport):
        params = {"EIO": 4}
        if transport is not None:
            params["transport"] = transport
        assert_refused(server.ws_url, PATH, 0, **params)

    def test_should_fail_with_an_unknown_sid(self, server):
        assert_refused(server.ws_url, PATH, 1, EIO=4, transport="websocket", sid="unknown-sid")


class TestEngineIOHeartbeatPolling:
    def test_should_send_ping_pong_packets(self, polling):
        sid, _ = polling.handshake()
        started = time.monotonic()
        for _ in range(3):
            response = polling.get(sid, timeout=PING_INTERVAL + SLACK)
            assert (response.status_code, response.text) == (200, "2")
            polling.post_ok(sid, "3")
        assert time.monotonic() - started > PING_INTERVAL + PING_TIMEOUT

    def test_should_close_the_session_upon_ping_timeout(self, polling):
        # As the official suite does: exactly pingInterval + pingTimeout after the handshake
        # (no margin), the session must be gone, however late the server's timers fire.
        sid, _ = polling.handshake()
        protocol_wait(PING_INTERVAL + PING_TIMEOUT)
        assert_error(polling.get(sid), 1)

    def test_should_close_a_parked_poll_upon_ping_timeout(self, polling):
        sid, _ = polling.handshake()
        response = polling.get(sid, timeout=PING_INTERVAL + SLACK)
        assert (response.status_code, response.text) == (200, "2")
        ping_at = time.monotonic()
        response = polling.get(sid, timeout=PING_TIMEOUT + SLACK)
        assert (response.status_code, response.text) == (200, "1")
        assert time.monotonic() - ping_at < PING_TIMEOUT + SLACK
        assert_error(polling.get(sid), 1)


class TestEngineIOHeartbeatWebSocket:
    def test_should_send_ping_pong_packets(self, server):
        socket = open_eio_websocket(server)
        try:
            started = time.monotonic()
            for _ in range(3):
                assert socket.recv(timeout=PING_INTERVAL + SLACK) == "2"
                socket.send("3")
            assert time.monotonic() - started > PING_INTERVAL + PING_TIMEOUT
        finally:
            socket.close()

    def test_should_close_the_session_upon_ping_timeout(self, server):
        socket = open_eio_websocket(server)
        try:
            opened_at = time.monotonic()
            received = socket.wait_closed(PING_INTERVAL + PING_TIMEOUT + SLACK, answer_pings=False)
            elapsed = time.monotonic() - opened_at
            assert received == ["2"], received
            # closed by the ping timeout, well before the connect timeout would have
            assert PING_INTERVAL + PING_TIMEOUT / 4 <= elapsed < CONNECT_TIMEOUT
        finally:
            socket.close()


class TestEngineIOClose:
    def test_should_forcefully_close_the_session_polling(self, server_on_loops):
        assert_forceful_polling_close(Polling(server_on_loops.url, PATH))

    def test_should_forcefully_close_the_session_websocket(self, server):
        socket = open_eio_websocket(server)
        try:
            socket.send("1")
            socket.assert_closes(CLOSE_DEADLINE)
        finally:
            socket.close()


class TestEngineIOUpgrade:
    def test_should_successfully_upgrade_from_http_long_polling_to_websocket(self, server, polling):
        sid, _ = polling.handshake()
        socket = open_upgrade_socket(server, sid)
        try:
            socket.send("2probe")
            assert socket.recv() == "3probe"
            response = polling.get(sid)
            assert (response.status_code, response.text) == (200, "6")
            socket.send("5")
            # the upgraded transport carries the Socket.IO connection
            sio_connect(socket)
        finally:
            socket.close()

    def test_should_ignore_http_requests_with_same_sid_after_upgrade(self, server, polling):
        sid, _ = polling.handshake()
        socket = open_upgrade_socket(server, sid)
        try:
            socket.send("2probe")
            assert socket.recv() == "3probe"
            socket.send("5")
            sio_connect(socket)  # proves the upgrade packet has been processed
            assert_error(polling.get(sid), 3)
            assert_error(polling.post(sid, '42["message","x"]'), 3)
            assert_nothing_pending(socket)
        finally:
            socket.close()

    def test_should_ignore_websocket_connection_with_same_sid_after_upgrade(self, server, polling):
        sid, _ = polling.handshake()
        socket = open_upgrade_socket(server, sid)
        try:
            socket.send("2probe")
            assert socket.recv() == "3probe"
            socket.send("5")
            sio_connect(socket)
            assert_accepted_then_closed(server.ws_url, PATH, EIO=4, transport="websocket", sid=sid)
            assert_nothing_pending(socket)
        finally:
            socket.close()

    def test_connection_made_over_polling_continues_over_websocket(self, server, polling):
        sid, _ = polling.handshake()
        polling.post_ok(sid, "40")
        reply, auth = polling.collect(sid, 2)
        assert_connect_reply(reply)
        assert auth == '42["auth",{}]'
        # an event whose reply stays queued on the polling transport during the upgrade
        polling.post_ok(sid, '42["message","queued"]')
        socket = open_upgrade_socket(server, sid)
        try:
            socket.send("2probe")
            assert socket.recv() == "3probe"
            socket.send("5")
            assert_next(socket, ['42["message-back","queued"]'])
            assert_nothing_pending(socket)
        finally:
            socket.close()


# ============================================================================================
# Socket.IO protocol


class TestConnect:
    def test_should_allow_connection_to_the_main_namespace(self, server):
        socket = open_eio_websocket(server)
        try:
            socket.send("40")
            sid = assert_connect_reply(socket.recv(skip_pings=True))
            assert socket.recv(skip_pings=True) == '42["auth",{}]'
            assert_nothing_pending(socket)
            other = open_eio_websocket(server)
            try:
                assert sio_connect(other) != sid
            finally:
                other.close()
        finally:
            socket.close()

    def test_should_allow_connection_to_the_main_namespace_with_a_payload(self, server):
        socket = open_eio_websocket(server)
        try:
            socket.send('40{"token":"123"}')
            assert_connect_reply(socket.recv(skip_pings=True))
            assert socket.recv(skip_pings=True) == '42["auth",{"token":"123"}]'
            assert_nothing_pending(socket)
        finally:
            socket.close()

    def test_should_allow_connection_to_a_custom_namespace(self, server):
        socket = open_eio_websocket(server)
        try:
            socket.send("40/custom,")
            assert_connect_reply(socket.recv(skip_pings=True), "/custom")
            assert socket.recv(skip_pings=True) == '42/custom,["auth",{}]'
            assert_nothing_pending(socket, "/custom")
        finally:
            socket.close()

    def test_should_allow_connection_to_a_custom_namespace_with_a_payload(self, server):
        socket = open_eio_websocket(server)
        try:
            socket.send('40/custom,{"token":"abc"}')
            assert_connect_reply(socket.recv(skip_pings=True), "/custom")
            assert socket.recv(skip_pings=True) == '42/custom,["auth",{"token":"abc"}]'
            assert_nothing_pending(socket, "/custom")
        finally:
            socket.close()

    def test_should_disallow_connection_to_an_unknown_namespace(self, server):
        socket = open_eio_websocket(server)
        try:
            socket.send("40/random")
            assert socket.recv(skip_pings=True) == '44/random,{"message":"Invalid namespace"}'
            # the refusal concerns the namespace only: the connection can still join "/"
            sio_connect(socket)
            assert_nothing_pending(socket)
        finally:
            socket.close()

    def test_should_disallow_connection_with_an_invalid_handshake(self, server):
        socket = open_eio_websocket(server)
        try:
            socket.send("4abc")
            # must close because of the packet, not because of the connect timeout
            socket.assert_closes(CONNECT_TIMEOUT / 2)
        finally:
            socket.close()

    def test_should_disallow_connection_with_a_non_object_payload(self, server):
        socket = open_eio_websocket(server)
        try:
            socket.send('40"not an object"')
            socket.assert_closes(CONNECT_TIMEOUT / 2)
        finally:
            socket.close()

    @pytest.mark.parametrize("packet", ['42["message","x"]', "41", '431["x"]'])
    def test_should_close_the_connection_when_the_first_packet_is_not_connect(self, server, packet):
        # spec: "If the server does not receive a CONNECT packet first, then it MUST close the
        # connection immediately."
        socket = open_eio_websocket(server)
        try:
            socket.send(packet)
            socket.assert_closes(CONNECT_TIMEOUT / 2)
        finally:
            socket.close()

    def test_should_close_the_connection_upon_a_second_connect_to_the_same_namespace(self, sio):
        # reference server (socket.io lib/client.ts, ondecoded): "invalid state" -> close
        sio.send("40")
        sio.assert_closes(CLOSE_DEADLINE)

    @pytest.mark.parametrize("packet", ['42/custom,["message","x"]', "41/custom,"])
    def test_should_close_the_connection_upon_a_packet_for_a_namespace_not_joined(self, sio, packet):
        # reference server (socket.io lib/client.ts, ondecoded): a packet other than CONNECT
        # for a namespace without a socket is an "invalid state" -> close
        sio.send(packet)
        sio.assert_closes(CLOSE_DEADLINE)

    def test_should_close_the_connection_when_no_namespace_is_joined_in_time(self, server):
        socket = open_eio_websocket(server)
        try:
            opened_at = time.monotonic()
            socket.assert_closes(CONNECT_TIMEOUT + SLACK)
            assert time.monotonic() - opened_at >= CONNECT_TIMEOUT * 0.8
        finally:
            socket.close()

    def test_should_connect_over_polling(self, polling):
        sid, _ = polling.handshake()
        polling.post_ok(sid, '40{"token":"p"}')
        reply, auth = polling.collect(sid, 2)
        assert_connect_reply(reply)
        assert auth == '42["auth",{"token":"p"}]'
        polling.post_ok(sid, '42["message",1,"2",{"3":[true]}]')
        assert polling.collect(sid, 1) == ['42["message-back",1,"2",{"3":[true]}]']


class TestDisconnect:
    def test_should_disconnect_from_the_main_namespace(self, sio):
        sio.send("41")
        # nothing is sent back for the DISCONNECT, and the Engine.IO connection stays open
        assert sio.recv(timeout=PING_INTERVAL + SLACK) == "2"
        sio.send("3")
        sio_connect(sio)
        assert_nothing_pending(sio)

    def test_should_connect_then_disconnect_from_a_custom_namespace(self, sio):
        sio.send("40/custom")
        reply, auth = sio.collect(2)
        assert_connect_reply(reply, "/custom")
        assert auth == '42/custom,["auth",{}]'
        sio.send("41/custom")
        sio.send('42["message","message to main namespace",1,2]')
        assert_next(sio, ['42["message-back","message to main namespace",1,2]'])

    def test_server_side_disconnect_from_the_main_namespace(self, sio):
        sio.send('42["server-disconnect"]')
        assert_next(sio, ["41"])
        # only the namespace is left: the connection can join again
        sio_connect(sio)
        assert_nothing_pending(sio)

    def test_server_side_disconnect_from_a_custom_namespace(self, sio):
        sio_connect(sio, "/custom")
        sio.send('42/custom,["server-disconnect"]')
        assert_next(sio, ["41/custom,"])
        assert_nothing_pending(sio)


class TestAcknowledgements:
    def test_should_emit_with_an_ack_expectation(self, sio):
        sio.send('42["emit-with-ack",1,"2",{"3":[true]}]')
        assert_next(sio, ['421["emit-with-ack",1,"2",{"3":[true]}]'])
        sio.send('431[1,"2",{"3":[true]}]')
        assert_next(sio, ['42["emit-with-ack",1,"2",{"3":[true]}]'])

    def test_should_emit_with_a_binary_ack_expectation(self, sio):
        data = PLACEHOLDERS + ',"test"'
        sio.send(f'452-["emit-with-ack",{data}]')
        sio.send(BIN_A)
        sio.send(BIN_B)
        assert_next(sio, [f'452-1["emit-with-ack",{data}]', BIN_A, BIN_B])
        sio.send(f"462-1[{data}]")
        sio.send(BIN_A)
        sio.send(BIN_B)
        assert_next(sio, [f'452-["emit-with-ack",{data}]', BIN_A, BIN_B])

    def test_outstanding_acks_get_distinct_ids_and_are_matched_by_id(self, sio):
        sio.send('42["emit-with-ack","first"]')
        sio.send('42["emit-with-ack","second"]')
        # The conformance plugin's emit-with-ack is an async operation: the two run
        # concurrently, so which of them asks first (and gets id 1) is not fixed.
        ids = {}
        for packet in sio.collect(2):
            match = re.fullmatch(r'42(\d+)\["emit-with-ack","(first|second)"\]', packet)
            assert match, packet
            ids[match.group(2)] = int(match.group(1))
        assert set(ids) == {"first", "second"}
        assert sorted(ids.values()) == [1, 2]
        # answered out of order: each reply reaches the callback of its own id
        sio.send(f'43{ids["second"]}["reply to second"]')
        assert_next(sio, ['42["emit-with-ack","reply to second"]'])
        sio.send(f'43{ids["first"]}["reply to first"]')
        assert_next(sio, ['42["emit-with-ack","reply to first"]'])

    def test_ack_ids_start_at_one_on_a_custom_namespace_socket(self, sio):
        sio_connect(sio, "/custom")
        sio.send('42/custom,["emit-with-ack","c"]')
        assert_next(sio, ['42/custom,1["emit-with-ack","c"]'])
        sio.send('43/custom,1["done"]')
        assert_next(sio, ['42/custom,["emit-with-ack","done"]'])


class TestMessage:
    def test_should_send_a_plain_text_packet(self, sio):
        sio.send('42["message",1,"2",{"3":[true]}]')
        assert_next(sio, ['42["message-back",1,"2",{"3":[true]}]'])

    def test_should_send_a_packet_with_binary_attachments(self, sio):
        sio.send(f'452-["message",1,{PLACEHOLDERS}]')
        sio.send(BIN_A)
        sio.send(BIN_B)
        packets = sio.collect(3)
        assert packets == [f'452-["message-back",1,{PLACEHOLDERS}]', BIN_A, BIN_B]
        assert all(isinstance(p, bytes) for p in packets[1:])

    def test_should_send_a_plain_text_packet_with_an_ack(self, sio):
        sio.send('42456["message-with-ack",1,"2",{"3":[false]}]')
        assert_next(sio, ['43456[1,"2",{"3":[false]}]'])

    def test_should_send_a_packet_with_binary_attachments_and_an_ack(self, sio):
        sio.send(f'452-789["message-with-ack",1,{PLACEHOLDERS}]')
        sio.send(BIN_A)
        sio.send(BIN_B)
        assert_next(sio, [f"462-789[1,{PLACEHOLDERS}]", BIN_A, BIN_B])

    def test_custom_namespace_events_and_acks_carry_the_namespace(self, sio):
        sio_connect(sio, "/custom")
        sio.send('42/custom,["message","x"]')
        assert_next(sio, ['42/custom,["message-back","x"]'])
        sio.send('42/custom,12["message-with-ack","y"]')
        assert_next(sio, ['43/custom,12["y"]'])
        # and the main namespace is unaffected
        assert_nothing_pending(sio)

    def test_binary_attachments_over_polling(self, polling):
        sid, _ = polling.handshake()
        polling.post_ok(sid, "40")
        polling.collect(sid, 2)
        polling.post_ok(sid, [f'452-["message",{PLACEHOLDERS}]', BIN_A, BIN_B])
        assert polling.collect(sid, 3) == [f'452-["message-back",{PLACEHOLDERS}]', BIN_A, BIN_B]

    @pytest.mark.parametrize("packet", ["42[]", "42", '42"message"', "42/custom,[]"])
    def test_should_close_the_connection_upon_an_event_payload_that_is_not_a_non_empty_array(self, sio, packet):
        # spec: "The payload is mandatory and MUST be a non-empty array. If that's not the case,
        # then the receiver MUST close the connection."
        if packet.startswith("42/custom,"):
            sio_connect(sio, "/custom")
        sio.send(packet)
        sio.assert_closes(CLOSE_DEADLINE)

    def test_an_ack_with_an_unknown_id_is_ignored(self, sio):
        sio.send('43999["nobody asked"]')
        sio.send('43["no id at all"]')
        assert_nothing_pending(sio)

    @pytest.mark.parametrize("packet", [
        '42["no-such-event"]',
        '421["no-such-event","with an ack id"]',
        '42[1,"a numeric event name"]',
        '4213[2.5]',
        '451-["no-such-event",{"_placeholder":true,"num":0}]',
    ])
    def test_an_event_nobody_listens_to_is_ignored_and_the_connection_stays(self, sio, packet):
        # The reference server has no listener for it: nothing comes back (no error event, no
        # ack), and the connection stays (examples/conformance.json: unknownEvents "ignore").
        sio.send(packet)
        if packet.startswith("451-"):
            sio.send(b"\x01\x02")
        assert_nothing_pending(sio)

    def test_an_event_nobody_listens_to_on_a_custom_namespace_is_ignored(self, sio):
        sio_connect(sio, "/custom")
        sio.send('42/custom,7["no-such-event"]')
        assert_nothing_pending(sio, "/custom")
        assert_nothing_pending(sio)

    def test_should_close_the_connection_upon_invalid_format_unknown_packet_type(self, sio):
        sio.send("4abc")
        sio.assert_closes(CLOSE_DEADLINE)

    def test_should_close_the_connection_upon_invalid_format_invalid_payload_format(self, sio):
        sio.send("42{}")
        sio.assert_closes(CLOSE_DEADLINE)

    def test_should_close_the_connection_upon_invalid_format_invalid_ack_id(self, sio):
        sio.send('42abc["message-with-ack",1,"2",{"3":[false]}]')
        sio.assert_closes(CLOSE_DEADLINE)


class TestRooms:
    def test_room_messages_reach_exactly_the_members(self, server):
        alice = open_eio_websocket(server)
        bob = open_eio_websocket(server)
        try:
            sio_connect(alice)
            sio_connect(bob)
            alice.send('421["join","room1"]')
            assert_next(alice, ['431["room1"]'])
            bob.send('427["join","room1"]')
            assert_next(bob, ['437["room1"]'])

            alice.send('42["to-room","room1","hello",{"x":1}]')
            assert_next(alice, ['42["room-message","hello",{"x":1}]'])
            assert_next(bob, ['42["room-message","hello",{"x":1}]'])

            bob.send('428["leave","room1"]')
            assert_next(bob, ['438["room1"]'])
            # a non-member may send to the room; only the remaining member receives it
            bob.send('42["to-room","room1","again"]')
            assert_next(alice, ['42["room-message","again"]'])
            assert_nothing_pending(bob)
            assert_nothing_pending(alice)
        finally:
            alice.close()
            bob.close()
