"""The official Engine.IO v4 protocol test suite (socketio/engine.io-protocol, test-suite),
re-expressed against the raw echo endpoint /engine.io/, with stricter checks:

- error replies are checked for their HTTP status and exact {"code", "message"} body, also for
  refused WebSocket upgrades (where the original only waits for "close");
- every close must happen within a deadline, with pings answered meanwhile, so a ping timeout
  can never be what makes a "closes upon ..." test pass;
- heartbeat timings are bounded on both sides;
- payload framing (record separator, base64 binary, UTF-8) is checked byte for byte.
"""
import os
import time

import pytest

from rawclient import (
    assert_accepted_then_closed,
    assert_forceful_polling_close,
    CLOSE_DEADLINE,
    PING_INTERVAL,
    PING_TIMEOUT,
    REPLY_DEADLINE,
    SLACK,
    Polling,
    RawWebSocket,
    assert_error,
    assert_refused,
    decode_payload,
    encode_payload,
    parse_handshake,
    protocol_wait,
    websocket_url,
)

PATH = "/engine.io/"


@pytest.fixture
def polling(server):
    return Polling(server.url, PATH)


@pytest.fixture
def ws_session(server):
    """A WebSocket-only session whose handshake has been read."""
    socket, _ = RawWebSocket.open_session(server.ws_url, PATH, EIO=4, transport="websocket")
    yield socket
    socket.close()


def open_upgrade_socket(server, sid):
    return RawWebSocket(websocket_url(server.ws_url, PATH, EIO=4, transport="websocket", sid=sid))


def probe(socket):
    """Sends the upgrade probe; the probe reply must be the very first frame (no open packet)."""
    socket.send("2probe")
    assert socket.recv() == "3probe"


# --------------------------------------------------------------------------------------------
# handshake / HTTP long-polling


class TestHandshakePolling:
    def test_successfully_opens_a_session(self, polling):
        response = polling.request("GET", polling.params())
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        # exactly one packet: the open packet, nothing appended
        assert "\x1e" not in response.text
        value = parse_handshake(response.text)
        assert value["upgrades"] == ["websocket"]
        # sessions get distinct ids
        other_sid, _ = polling.handshake()
        assert other_sid != value["sid"]

    @pytest.mark.parametrize("eio", [None, "abc", "3", "5", ""])
    def test_fails_with_an_invalid_eio_query_parameter(self, polling, eio):
        params = {"transport": "polling"}
        if eio is not None:
            params["EIO"] = eio
        assert_error(polling.request("GET", params), 5)

    @pytest.mark.parametrize("transport", [None, "abc", ""])
    def test_fails_with_an_invalid_transport_query_parameter(self, polling, transport):
        params = {"EIO": "4"}
        if transport is not None:
            params["transport"] = transport
        assert_error(polling.request("GET", params), 0)

    @pytest.mark.parametrize("method", ["POST", "PUT"])
    def test_fails_with_an_invalid_request_method(self, polling, method):
        assert_error(polling.request(method, polling.params(), data=b"4hello"), 2)

    def test_fails_with_an_unknown_sid(self, polling):
        assert_error(polling.get("unknown-sid"), 1)
        assert_error(polling.post("unknown-sid", "4hello"), 1)


# --------------------------------------------------------------------------------------------
# handshake / WebSocket


class TestHandshakeWebSocket:
    def test_successfully_opens_a_session(self, server):
        socket, value = RawWebSocket.open_session(server.ws_url, PATH, EIO=4, transport="websocket")
        try:
            assert value["upgrades"] == []
            other, other_value = RawWebSocket.open_session(server.ws_url, PATH, EIO=4, transport="websocket")
            other.close()
            assert other_value["sid"] != value["sid"]
            # the next frame after the open packet is the first ping, nothing in between
            assert socket.recv(timeout=PING_INTERVAL + SLACK) == "2"
        finally:
            socket.close()

    @pytest.mark.parametrize("eio", [None, "abc", "3"])
    def test_fails_with_an_invalid_eio_query_parameter(self, server, eio):
        params = {"transport": "websocket"}
        if eio is not None:
            params["EIO"] = eio
        assert_refused(server.ws_url, PATH, 5, **params)

    @pytest.mark.parametrize("transport", [None, "abc"])
    def test_fails_with_an_invalid_transport_query_parameter(self, server, transport):
        params = {"EIO": 4}
        if transport is not None:
            params["transport"] = transport
        assert_refused(server.ws_url, PATH, 0, **params)

    def test_fails_with_an_unknown_sid(self, server):
        assert_refused(server.ws_url, PATH, 1, EIO=4, transport="websocket", sid="unknown-sid")

    def test_websocket_transport_without_upgrade_is_a_bad_request(self, polling):
        # a plain GET that names the websocket transport but carries no Upgrade header
        assert_error(polling.request("GET", {"EIO": "4", "transport": "websocket"}), 3)


# --------------------------------------------------------------------------------------------
# message / HTTP long-polling


class TestMessagePolling:
    def test_sends_and_receives_a_payload_containing_one_plain_text_packet(self, polling):
        sid, _ = polling.handshake()
        polling.post_ok(sid, "4hello")
        response = polling.get(sid)
        assert response.status_code == 200
        assert response.text == "4hello"

    def test_sends_and_receives_a_payload_containing_several_plain_text_packets(self, polling):
        sid, _ = polling.handshake()
        polling.post_ok(sid, "4test1\x1e4test2\x1e4test3")
        response = polling.get(sid)
        assert response.status_code == 200
        assert response.text == "4test1\x1e4test2\x1e4test3"

    def test_sends_and_receives_a_payload_containing_plain_text_and_binary_packets(self, polling):
        sid, _ = polling.handshake()
        polling.post_ok(sid, "4hello\x1ebAQIDBA==")
        response = polling.get(sid)
        assert response.status_code == 200
        assert response.text == "4hello\x1ebAQIDBA=="
        assert decode_payload(response.text) == ["4hello", bytes([1, 2, 3, 4])]

    def test_binary_packets_are_echoed_byte_exact_over_polling(self, polling):
        sid, _ = polling.handshake()
        every_byte = bytes(range(256))
        large = os.urandom(48 * 1024)
        polling.post_ok(sid, encode_payload([every_byte, "4between", large]))
        packets = polling.collect(sid, 3)
        assert packets == [every_byte, "4between", large]

    def test_utf8_text_is_echoed_exactly_over_polling(self, polling):
        sid, _ = polling.handshake()
        text = "4héllo wörld ✓ 😀 \u2028"
        polling.post_ok(sid, [text, "4second"])
        response = polling.get(sid)
        assert response.status_code == 200
        assert response.content.decode("utf-8") == text + "\x1e4second"

    def test_parked_get_receives_a_later_message(self, polling):
        sid, _ = polling.handshake()
        pending = polling.start_get(sid)
        polling.post_ok(sid, "4late")
        response = pending.result(timeout=REPLY_DEADLINE)
        assert response.status_code == 200
        # either the echo alone, or (if the first ping was due first) a ping then the echo
        packets = decode_payload(response.text)
        if packets == ["2"]:
            polling.post_ok(sid, "3")
            packets = polling.collect(sid, 1)
        assert [p for p in packets if p != "2"] == ["4late"]

    def test_closes_the_session_upon_invalid_packet_format(self, polling):
        sid, _ = polling.handshake()
        assert_error(polling.post(sid, "abc"), 3)
        assert_error(polling.get(sid), 1)

    def test_closes_the_session_upon_duplicate_poll_requests(self, polling):
        sid, _ = polling.handshake()
        first = polling.start_get(sid)
        second = polling.start_get(sid, t="burst")
        responses = [first.result(timeout=REPLY_DEADLINE), second.result(timeout=REPLY_DEADLINE)]
        # whichever GET the server saw first was parked and gets the close packet,
        # the other is refused; the order of arrival is not under the test's control
        parked = [r for r in responses if r.status_code == 200]
        refused = [r for r in responses if r.status_code != 200]
        assert len(parked) == 1 and len(refused) == 1, [(r.status_code, r.text) for r in responses]
        assert parked[0].text == "1"
        assert_error(refused[0], 3)
        assert_error(polling.get(sid), 1)
        assert_error(polling.post(sid, "4hello"), 1)


# --------------------------------------------------------------------------------------------
# message / WebSocket


class TestMessageWebSocket:
    def test_sends_and_receives_a_plain_text_packet(self, ws_session):
        ws_session.send("4hello")
        assert ws_session.recv(skip_pings=True) == "4hello"

    def test_sends_and_receives_utf8_text(self, ws_session):
        text = "4héllo wörld ✓ 😀"
        ws_session.send(text)
        assert ws_session.recv(skip_pings=True) == text

    def test_sends_and_receives_a_binary_packet(self, ws_session):
        ws_session.send(bytes([1, 2, 3, 4]))
        data = ws_session.recv(skip_pings=True)
        assert isinstance(data, bytes), f"binary must come back as a binary frame, got {data!r}"
        assert data == bytes([1, 2, 3, 4])

    def test_binary_packets_are_echoed_byte_exact(self, ws_session):
        payloads = [bytes(range(256)), os.urandom(64 * 1024), b"4not-a-text-packet"]
        for payload in payloads:
            ws_session.send(payload)
        assert ws_session.collect(len(payloads)) == payloads

    def test_messages_are_echoed_in_order(self, ws_session):
        messages = [f"4message {i}" for i in range(50)]
        for message in messages:
            ws_session.send(message)
        assert ws_session.collect(len(messages)) == messages

    def test_closes_the_session_upon_invalid_packet_format(self, ws_session):
        ws_session.send("abc")
        ws_session.assert_closes(CLOSE_DEADLINE)


# --------------------------------------------------------------------------------------------
# heartbeat


class TestHeartbeatPolling:
    def test_sends_ping_pong_packets(self, polling):
        sid, _ = polling.handshake()
        started = time.monotonic()
        for _ in range(3):
            response = polling.get(sid, timeout=PING_INTERVAL + SLACK)
            assert response.status_code == 200
            assert response.text == "2"
            polling.post_ok(sid, "3")
        # three answered pings: the session outlived pingInterval + pingTimeout
        assert time.monotonic() - started > PING_INTERVAL + PING_TIMEOUT
        response = polling.get(sid, timeout=PING_INTERVAL + SLACK)
        assert (response.status_code, response.text) == (200, "2")

    def test_closes_the_session_upon_ping_timeout(self, polling):
        sid, _ = polling.handshake()
        # Nobody polls, so the ping stays unanswered. As the official suite does: exactly
        # pingInterval + pingTimeout after the handshake (no margin), the session must be gone,
        # however late the server's timers fire.
        protocol_wait(PING_INTERVAL + PING_TIMEOUT)
        assert_error(polling.get(sid), 1)
        assert_error(polling.post(sid, "3"), 1)

    def test_closes_a_parked_poll_upon_ping_timeout(self, polling):
        sid, _ = polling.handshake()
        started = time.monotonic()
        response = polling.get(sid, timeout=PING_INTERVAL + SLACK)
        assert (response.status_code, response.text) == (200, "2")
        ping_at = time.monotonic()
        assert ping_at - started < PING_INTERVAL + SLACK
        # the ping is not answered: the next poll is released with the close packet
        response = polling.get(sid, timeout=PING_TIMEOUT + SLACK)
        closed_at = time.monotonic()
        assert (response.status_code, response.text) == (200, "1")
        assert closed_at - ping_at < PING_TIMEOUT + SLACK
        assert_error(polling.get(sid), 1)


class TestHeartbeatWebSocket:
    def test_sends_ping_pong_packets(self, server):
        socket, _ = RawWebSocket.open_session(server.ws_url, PATH, EIO=4, transport="websocket")
        try:
            started = time.monotonic()
            for _ in range(3):
                assert socket.recv(timeout=PING_INTERVAL + SLACK) == "2"
                socket.send("3")
            assert time.monotonic() - started > PING_INTERVAL + PING_TIMEOUT
            # still alive: it echoes
            socket.send("4alive")
            assert socket.recv(skip_pings=True) == "4alive"
        finally:
            socket.close()

    def test_closes_the_session_upon_ping_timeout(self, server):
        socket, _ = RawWebSocket.open_session(server.ws_url, PATH, EIO=4, transport="websocket")
        try:
            opened_at = time.monotonic()
            received = socket.wait_closed(PING_INTERVAL + PING_TIMEOUT + SLACK, answer_pings=False)
            closed_at = time.monotonic()
            # exactly one unanswered ping, then the close
            assert received == ["2"], received
            assert closed_at - opened_at >= PING_INTERVAL + PING_TIMEOUT / 4
        finally:
            socket.close()


# --------------------------------------------------------------------------------------------
# close


class TestClosePolling:
    def test_forcefully_closes_the_session(self, server_on_loops):
        assert_forceful_polling_close(Polling(server_on_loops.url, PATH))

    def test_a_close_packet_with_no_poll_in_flight_ends_the_session(self, polling):
        # The session lingers for one racing poll only: the poll after that one is refused.
        sid, _ = polling.handshake()
        polling.post_ok(sid, "1")
        response = polling.get(sid)
        assert (response.status_code, response.text) == (200, "6")
        assert_error(polling.get(sid), 1)
        assert_error(polling.post(sid, "4late"), 1)


class TestCloseWebSocket:
    def test_forcefully_closes_the_session(self, ws_session):
        ws_session.send("1")
        ws_session.assert_closes(CLOSE_DEADLINE)


# --------------------------------------------------------------------------------------------
# upgrade


class TestUpgrade:
    def test_successfully_upgrades_from_http_long_polling_to_websocket(self, server, polling):
        sid, _ = polling.handshake()
        socket = open_upgrade_socket(server, sid)
        try:
            probe(socket)
            response = polling.get(sid)
            assert (response.status_code, response.text) == (200, "6")
            socket.send("5")
            socket.send("4hello")
            assert socket.recv(skip_pings=True) == "4hello"
        finally:
            socket.close()

    def test_upgrade_releases_a_parked_poll_with_a_noop(self, server, polling):
        sid, _ = polling.handshake()
        pending = polling.start_get(sid)
        socket = open_upgrade_socket(server, sid)
        try:
            probe(socket)
            response = pending.result(timeout=REPLY_DEADLINE)
            assert (response.status_code, response.text) == (200, "6")
            socket.send("5")
            socket.send("4hello")
            assert socket.recv(skip_pings=True) == "4hello"
        finally:
            socket.close()

    def test_queued_packets_flow_over_websocket_after_upgrade(self, server, polling):
        sid, _ = polling.handshake()
        # echoes queued for the polling transport, never fetched
        polling.post_ok(sid, ["4queued1", b"\x00\x01\x02", "4queued2"])
        socket = open_upgrade_socket(server, sid)
        try:
            probe(socket)
            socket.send("5")
            socket.send("4after")
            assert socket.collect(4) == ["4queued1", b"\x00\x01\x02", "4queued2", "4after"]
        finally:
            socket.close()

    def test_ignores_http_requests_with_same_sid_after_upgrade(self, server, polling):
        sid, _ = polling.handshake()
        socket = open_upgrade_socket(server, sid)
        try:
            probe(socket)
            socket.send("5")
            # the echo proves the server has processed the upgrade packet
            socket.send("4sync")
            assert socket.recv(skip_pings=True) == "4sync"
            assert_error(polling.get(sid), 3)
            assert_error(polling.post(sid, "4hello"), 3)
            socket.send("4hello")
            assert socket.recv(skip_pings=True) == "4hello"
        finally:
            socket.close()

    def test_ignores_websocket_connection_with_same_sid_after_upgrade(self, server, polling):
        sid, _ = polling.handshake()
        socket = open_upgrade_socket(server, sid)
        try:
            probe(socket)
            socket.send("5")
            socket.send("4sync")
            assert socket.recv(skip_pings=True) == "4sync"
            assert_accepted_then_closed(server.ws_url, PATH, EIO=4, transport="websocket", sid=sid)
            socket.send("4hello")
            assert socket.recv(skip_pings=True) == "4hello"
        finally:
            socket.close()

    def test_session_survives_heartbeats_after_upgrade(self, server, polling):
        sid, _ = polling.handshake()
        socket = open_upgrade_socket(server, sid)
        try:
            probe(socket)
            socket.send("5")
            started = time.monotonic()
            # pings now come over the WebSocket; answering them keeps the session alive
            pings = 0
            while time.monotonic() - started < PING_INTERVAL + PING_TIMEOUT + 0.2:
                assert socket.recv(timeout=PING_INTERVAL + SLACK) == "2"
                socket.send("3")
                pings += 1
            assert pings >= 2
            socket.send("4alive")
            assert socket.recv(skip_pings=True) == "4alive"
        finally:
            socket.close()
