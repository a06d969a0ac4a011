"""End-to-end interop tests driven by the real python-socketio client (PyPI).

The server under test runs the conformance application (see conftest.py):
pingInterval 300 ms, pingTimeout 200 ms, connectTimeout 1000 ms.

No test sleeps to synchronise: every expected event is awaited on a queue or an
event with a deadline, and a missing event fails the test. Where a test has to
show that something did *not* arrive, it first waits for a later marker that the
server must deliver after the unwanted message on the same connection.
"""
import concurrent.futures
import itertools
import json
import queue
import threading
import time
import uuid

import engineio
import pytest
import requests
import socketio
import websocket

WAIT = 5.0  # seconds to wait for anything the server must send

TRANSPORTS = {
    "polling": (["polling"], "polling"),
    "websocket": (["websocket"], "websocket"),
    "upgrade": (["polling", "websocket"], "websocket"),
}


def transport_params():
    return pytest.mark.parametrize("transport", list(TRANSPORTS), ids=list(TRANSPORTS))


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# --------------------------------------------------------------------------- helpers


def record(client, event, namespace="/"):
    """Registers a handler for `event` that puts each call's args (a tuple) on a queue."""
    received = queue.Queue()

    def handler(*args):
        received.put(args)

    client.on(event, handler, namespace=namespace)
    return received


def expect(received, what, timeout=WAIT):
    try:
        return received.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"timed out after {timeout} s waiting for {what}")


def expect_until(received, predicate, what, timeout=WAIT):
    """Returns the first item matching predicate; items before it are returned too."""
    deadline = time.monotonic() + timeout
    skipped = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"timed out after {timeout} s waiting for {what}; got instead: {skipped!r}")
        try:
            item = received.get(timeout=remaining)
        except queue.Empty:
            continue
        if predicate(item):
            return item, skipped
        skipped.append(item)


def drain(received):
    items = []
    while True:
        try:
            items.append(received.get_nowait())
        except queue.Empty:
            return items


def connect(client, server, transport, **kwargs):
    transports, expected = TRANSPORTS[transport]
    client.connect(server.url, transports=transports, wait_timeout=WAIT, **kwargs)
    assert client.connected
    assert client.transport() == expected, f"expected transport {expected}, got {client.transport()}"
    return client


def close_client(client):
    try:
        client.shutdown()
    except Exception:  # noqa: BLE001 - teardown must not cascade
        pass
    try:
        if client.eio.state == "connected":
            client.eio.disconnect(abort=True)
    except Exception:  # noqa: BLE001
        pass


@pytest.fixture
def make_client():
    """Creates socketio.Client instances that are all shut down at teardown."""
    created = []

    def make(**kwargs):
        kwargs.setdefault("reconnection", False)
        client = socketio.Client(**kwargs)
        created.append(client)
        return client

    yield make
    for client in created:
        close_client(client)


class Member:
    """A connected client with queues for room traffic and a private room for markers."""

    def __init__(self, client):
        self.client = client
        self.room_messages = record(client, "room-message")
        self.private_room = unique("private")
        assert client.call("join", self.private_room, timeout=WAIT) == self.private_room

    def call(self, event, *args):
        return self.client.call(event, args if len(args) != 1 else args[0], timeout=WAIT)

    def expect_room_message(self, args, what):
        got = expect(self.room_messages, what)
        assert got == tuple(args), f"{what}: expected {args!r}, got {got!r}"

    def expect_no_room_message_before_marker(self, sender, what):
        """Sends a marker to this member's private room through `sender` (after whatever
        `sender` sent before) and asserts the marker is the next room message here."""
        marker = unique("marker")
        sender.client.emit("to-room", (self.private_room, marker))
        got, before = expect_until(self.room_messages, lambda item: item == (marker,), f"marker for {what}")
        assert before == [], f"{what}: unexpected room messages {before!r}"


# --------------------------------------------------------------------------- 1. connect + auth


@transport_params()
def test_connect_without_auth_receives_empty_auth(make_client, server, transport):
    client = make_client()
    auth = record(client, "auth")
    connect(client, server, transport)
    assert client.get_sid("/") is not None
    assert expect(auth, "auth event") == ({},)


@transport_params()
def test_connect_with_auth_receives_auth_payload(make_client, server, transport):
    client = make_client()
    auth = record(client, "auth")
    payload = {"token": "s3cr3t", "user": "zoë 😀", "n": 7, "nested": {"list": [1, True, None]}}
    connect(client, server, transport, auth=payload)
    assert expect(auth, "auth event") == (payload,)


@transport_params()
def test_simple_client_round_trip(server, transport):
    transports, expected = TRANSPORTS[transport]
    client = socketio.SimpleClient()
    try:
        client.connect(server.url, transports=transports, auth={"simple": True}, wait_timeout=WAIT)
        assert client.transport == expected
        assert client.receive(timeout=WAIT) == ["auth", {"simple": True}]
        client.emit("message", ("simple", b"\x00"))
        assert client.receive(timeout=WAIT) == ["message-back", "simple", b"\x00"]
        assert client.call("message-with-ack", ("a", 1), timeout=WAIT) == ("a", 1)
    finally:
        client.disconnect()
        if client.client is not None:
            close_client(client.client)


# --------------------------------------------------------------------------- 2. message -> message-back

MESSAGE_CASES = {
    "string": ("hello",),
    "several-strings": ("a", "b", "c"),
    "no-args": (),
    "numbers": (0, 1, -1, 42, 3.5, -0.25, 1e-7, 9007199254740991, -9007199254740991, 1.5e300),
    "bool-null": (True, False, None),
    "nested": (
        {"a": [1, {"b": None, "c": [True, False, "x"]}], "d": {"e": {"f": {"g": []}}}, "empty": {}},
        [[1, 2], [], [{}], "s"],
    ),
    "unicode": ("héllo wörld", "😀🎉👍🏽", "中文字符", "日本語のテキスト", {"ключ": "значение", "emoji🔑": "✓"}),
    "escapes": ('quote " backslash \\ slash / newline \n tab \t', "\u0001\u001f\u007f", "\u2028\u2029"),
    "empty-string": ("",),
    "large-text": ("0123456789abcdef" * 12_800,),
    "large-unicode": ("é😀中" * 20_000,),
    "binary": (b"\x00\x01\x02\xff",),
    "empty-binary": (b"",),
    "binary-mixed": (
        "before",
        b"\x00\xff" * 10,
        {"nested": b"\xde\xad\xbe\xef", "list": [b"\x01", 2, "three"]},
        42,
        b"last",
    ),
    "large-binary": (bytes(range(256)) * 800,),
}


@transport_params()
@pytest.mark.parametrize("case", list(MESSAGE_CASES), ids=list(MESSAGE_CASES))
def test_message_back_echoes_args(make_client, server, transport, case):
    args = MESSAGE_CASES[case]
    client = make_client()
    back = record(client, "message-back")
    connect(client, server, transport)
    client.emit("message", args)
    got = expect(back, "message-back")
    assert got == args
    assert [type(a) for a in got] == [type(a) for a in args] or case == "numbers"


# python-engineio's client refuses a polling payload of more than 16 packets
# (engineio.payload.Payload.max_decode_packets, miguelgrinberg/python-engineio#142),
# and reference servers flush every buffered packet in one response, so bursts stay
# below that: 6 binary events are 12 packets (each event plus one attachment).
BURST = 6


@transport_params()
def test_message_back_for_a_burst_of_messages(make_client, server, transport):
    client = make_client()
    back = record(client, "message-back")
    connect(client, server, transport)
    sent = [(i, f"msg-{i}", bytes([i])) for i in range(BURST)]
    for args in sent:
        client.emit("message", args)
    got = [expect(back, f"message-back #{i}") for i in range(len(sent))]
    # python-socketio dispatches every received packet on its own thread, so compare as sets.
    assert sorted(got) == sorted(sent)


# --------------------------------------------------------------------------- 3. acks client -> server

ACK_CASES = {
    "single": ("only",),
    "multiple": ("a", 1, {"b": [2, 3]}, None, True),
    "binary": (b"\x00\x01\xfe\xff",),
    "binary-mixed": (b"one", "two", {"three": b"\x03", "four": [4, b"\x04"]}),
    "unicode": ("😀 中文",),
}


@transport_params()
@pytest.mark.parametrize("case", list(ACK_CASES), ids=list(ACK_CASES))
def test_message_with_ack_returns_same_args(make_client, server, transport, case):
    args = ACK_CASES[case]
    client = make_client()
    connect(client, server, transport)
    result = client.call("message-with-ack", args, timeout=WAIT)
    # Client.call returns the single ack arg itself, or a tuple for several.
    expected = args[0] if len(args) == 1 else args
    assert result == expected


@transport_params()
def test_message_with_ack_without_args(make_client, server, transport):
    client = make_client()
    connect(client, server, transport)
    acked = threading.Event()
    ack_args = []

    def on_ack(*args):
        ack_args.append(args)
        acked.set()

    client.emit("message-with-ack", callback=on_ack)
    assert acked.wait(WAIT), "no ack"
    assert ack_args == [()]


@transport_params()
def test_concurrent_acks_are_matched_to_their_calls(make_client, server, transport):
    client = make_client()
    connect(client, server, transport)
    results = {}
    done = threading.Event()
    lock = threading.Lock()

    def callback_for(i):
        def on_ack(*args):
            with lock:
                results[i] = args
                if len(results) == count:
                    done.set()
        return on_ack

    count = 2 * BURST  # 12 text acks: one packet each, below python-engineio's 16
    for i in range(count):
        client.emit("message-with-ack", (i, f"n{i}"), callback=callback_for(i))
    assert done.wait(WAIT), f"only {len(results)} of {count} acks arrived"
    assert results == {i: (i, f"n{i}") for i in range(count)}


# --------------------------------------------------------------------------- 4. acks server -> client

EMIT_WITH_ACK_CASES = {
    "json": ("hello", {"k": [1, 2]}, 3),
    "binary": (b"\x00\x10\xff", "text", {"bin": b"\xca\xfe"}),
}


@transport_params()
@pytest.mark.parametrize("case", list(EMIT_WITH_ACK_CASES), ids=list(EMIT_WITH_ACK_CASES))
def test_server_emit_with_ack_round_trip(make_client, server, transport, case):
    args = EMIT_WITH_ACK_CASES[case]
    reply = ("reply", b"\x01\x02\x03", {"echo": list(args[:1]) if case == "json" else "bin"}, 99)
    client = make_client()
    calls = queue.Queue()

    def on_emit_with_ack(*received):
        calls.put(received)
        return reply

    client.on("emit-with-ack", on_emit_with_ack)
    connect(client, server, transport)
    client.emit("emit-with-ack", args)
    first = expect(calls, "emit-with-ack from the server (with ack)")
    assert first == args
    second = expect(calls, "emit-with-ack carrying our ack")
    assert second == reply


@transport_params()
def test_server_emit_with_ack_single_and_empty_reply(make_client, server, transport):
    client = make_client()
    calls = queue.Queue()
    replies = iter([("single",), None])

    def on_emit_with_ack(*received):
        calls.put(received)
        if received and received[0] == "go":
            r = next(replies)
            return r[0] if r else None
        return None

    client.on("emit-with-ack", on_emit_with_ack)
    connect(client, server, transport)
    client.emit("emit-with-ack", "go")
    assert expect(calls, "first emit-with-ack") == ("go",)
    assert expect(calls, "emit-with-ack with single reply") == ("single",)
    client.emit("emit-with-ack", "go")
    assert expect(calls, "second emit-with-ack") == ("go",)
    # The handler returned None: python-socketio acks with no args, so the server emits no args.
    assert expect(calls, "emit-with-ack with empty reply") == ()


# --------------------------------------------------------------------------- 5. namespaces


@transport_params()
def test_connect_custom_namespace_only(make_client, server, transport):
    client = make_client()
    auth = record(client, "auth", namespace="/custom")
    back = record(client, "message-back", namespace="/custom")
    connect(client, server, transport, namespaces=["/custom"], auth={"ns": "custom"})
    assert set(client.namespaces) == {"/custom"}
    assert expect(auth, "auth on /custom") == ({"ns": "custom"},)
    client.emit("message", ("on custom", b"\x07"), namespace="/custom")
    assert expect(back, "message-back on /custom") == ("on custom", b"\x07")
    assert client.call("message-with-ack", ("ack", "custom"), namespace="/custom", timeout=WAIT) == ("ack", "custom")


@transport_params()
def test_two_namespaces_on_one_connection_route_events(make_client, server, transport):
    client = make_client()
    auth_root = record(client, "auth", namespace="/")
    auth_custom = record(client, "auth", namespace="/custom")
    back_root = record(client, "message-back", namespace="/")
    back_custom = record(client, "message-back", namespace="/custom")
    connect(client, server, transport, namespaces=["/", "/custom"], auth={"both": True})
    assert set(client.namespaces) == {"/", "/custom"}
    assert expect(auth_root, "auth on /") == ({"both": True},)
    assert expect(auth_custom, "auth on /custom") == ({"both": True},)

    client.emit("message", "to-custom", namespace="/custom")
    assert expect(back_custom, "message-back on /custom") == ("to-custom",)
    # A round trip on "/" after the message-back on "/custom": anything misrouted would precede it.
    assert client.call("message-with-ack", "sync-root", namespace="/", timeout=WAIT) == "sync-root"
    assert drain(back_root) == []

    client.emit("message", ("to-root", b"\x01"), namespace="/")
    assert expect(back_root, "message-back on /") == ("to-root", b"\x01")
    assert client.call("message-with-ack", "sync-custom", namespace="/custom", timeout=WAIT) == "sync-custom"
    assert drain(back_custom) == []

    assert client.call("message-with-ack", ("r", 1), namespace="/", timeout=WAIT) == ("r", 1)
    assert client.call("message-with-ack", ("c", 2), namespace="/custom", timeout=WAIT) == ("c", 2)


@transport_params()
def test_unknown_namespace_is_refused(make_client, server, transport):
    client = make_client()
    errors = queue.Queue()
    client.on("connect_error", lambda *data: errors.put(data), namespace="/random")
    transports, _ = TRANSPORTS[transport]
    with pytest.raises(socketio.exceptions.ConnectionError) as info:
        client.connect(server.url, transports=transports, namespaces=["/random"], wait_timeout=WAIT)
    assert "/random" in str(info.value)
    data = expect(errors, "connect_error for /random")
    assert data == ({"message": "Invalid namespace"},)
    assert not client.connected


@transport_params()
def test_unknown_namespace_next_to_valid_one_is_refused(make_client, server, transport):
    client = make_client()
    errors = queue.Queue()
    client.on("connect_error", lambda *data: errors.put(data), namespace="/random")
    transports, _ = TRANSPORTS[transport]
    with pytest.raises(socketio.exceptions.ConnectionError) as info:
        client.connect(server.url, transports=transports, namespaces=["/", "/random"], wait_timeout=WAIT)
    assert "/random" in str(info.value)
    assert expect(errors, "connect_error for /random") == ({"message": "Invalid namespace"},)


# --------------------------------------------------------------------------- 6. rooms


def connect_member(make_client, server, transport):
    client = make_client()
    connect(client, server, transport)
    return Member(client)


@transport_params()
def test_room_messages_reach_members_only(make_client, server, transport):
    room = unique("room")
    alice = connect_member(make_client, server, transport)  # member and sender
    bob = connect_member(make_client, server, transport)  # member
    carol = connect_member(make_client, server, transport)  # not a member

    assert alice.call("join", room) == room
    assert bob.call("join", room) == room

    args = ("hi room", {"n": 1}, b"\x00\x01")
    alice.client.emit("to-room", (room, *args))
    alice.expect_room_message(args, "sender who is a member")
    bob.expect_room_message(args, "member")
    carol.expect_no_room_message_before_marker(alice, "non-member")
    alice.expect_no_room_message_before_marker(alice, "sender after one message")
    bob.expect_no_room_message_before_marker(alice, "member after one message")


@transport_params()
def test_sender_outside_room_is_not_included(make_client, server, transport):
    room = unique("room")
    outsider = connect_member(make_client, server, transport)
    member = connect_member(make_client, server, transport)
    assert member.call("join", room) == room

    outsider.client.emit("to-room", (room, "from outside"))
    member.expect_room_message(("from outside",), "member")
    outsider.expect_no_room_message_before_marker(outsider, "sender who is not a member")


@transport_params()
def test_leave_stops_delivery(make_client, server, transport):
    room = unique("room")
    alice = connect_member(make_client, server, transport)
    bob = connect_member(make_client, server, transport)
    assert alice.call("join", room) == room
    assert bob.call("join", room) == room

    alice.client.emit("to-room", (room, "before leave"))
    alice.expect_room_message(("before leave",), "alice before leave")
    bob.expect_room_message(("before leave",), "bob before leave")

    assert bob.call("leave", room) == room
    alice.client.emit("to-room", (room, "after leave"))
    alice.expect_room_message(("after leave",), "alice after bob left")
    bob.expect_no_room_message_before_marker(alice, "bob after leaving")

    assert alice.call("leave", room) == room
    bob.client.emit("to-room", (room, "nobody home"))
    alice.expect_no_room_message_before_marker(bob, "alice after leaving")


def test_room_with_clients_on_every_transport(make_client, server):
    room = unique("room")
    members = [connect_member(make_client, server, t) for t in TRANSPORTS for _ in range(2)]
    outsiders = [connect_member(make_client, server, t) for t in TRANSPORTS]
    for m in members:
        assert m.call("join", room) == room

    for i, sender in enumerate([members[0], members[2], members[4], outsiders[1]]):
        args = (f"round {i}", i, b"\xab" * (i + 1), {"from": sender.client.transport()})
        sender.client.emit("to-room", (room, *args))
        for j, m in enumerate(members):
            m.expect_room_message(args, f"round {i} member {j} ({m.client.transport()})")
        for o in outsiders:
            o.expect_no_room_message_before_marker(sender, f"round {i} outsider ({o.client.transport()})")


def test_rooms_are_per_namespace(make_client, server):
    room = unique("room")
    a = make_client()
    b = make_client()
    a_root = record(a, "room-message", namespace="/")
    b_root = record(b, "room-message", namespace="/")
    b_custom = record(b, "room-message", namespace="/custom")
    connect(a, server, "websocket", namespaces=["/"])
    connect(b, server, "websocket", namespaces=["/", "/custom"])
    assert a.call("join", room, timeout=WAIT) == room
    assert b.call("join", room, namespace="/custom", timeout=WAIT) == room

    # b is in the room on /custom only: a's broadcast on "/" must not reach it.
    a.emit("to-room", (room, "root only"))
    assert expect(a_root, "room-message on / for a") == ("root only",)
    b.emit("to-room", (room, "custom only"), namespace="/custom")
    assert expect(b_custom, "room-message on /custom for b") == ("custom only",)
    assert b.call("message-with-ack", "sync", timeout=WAIT) == "sync"
    assert drain(b_root) == []
    assert drain(a_root) == []


# --------------------------------------------------------------------------- 7. disconnects


@transport_params()
def test_server_disconnect(make_client, server, transport):
    client = make_client(reconnection=True)
    connects = queue.Queue()
    reasons = queue.Queue()
    final = threading.Event()
    client.on("connect", lambda: connects.put(True))
    client.on("disconnect", lambda reason: reasons.put(reason))
    client.on("__disconnect_final", final.set)
    # Record Socket.IO DISCONNECT packets, to tell them apart from an Engine.IO close
    # (which python-socketio also reports as "server disconnect").
    disconnect_packets = queue.Queue()
    handle_disconnect = client._handle_disconnect

    def spy_handle_disconnect(namespace):
        disconnect_packets.put(namespace or "/")
        return handle_disconnect(namespace)

    client._handle_disconnect = spy_handle_disconnect
    connect(client, server, transport)
    expect(connects, "connect event")

    client.emit("server-disconnect")
    assert expect(reasons, "disconnect event") == socketio.Client.reason.SERVER_DISCONNECT
    assert expect(disconnect_packets, "a Socket.IO DISCONNECT packet") == "/"
    # __disconnect_final is python-socketio's signal that no reconnection will follow.
    assert final.wait(WAIT), "client did not finalise the disconnection"
    assert not client.connected
    assert client._reconnect_task is None, "client started reconnecting after a server disconnect"
    assert drain(reasons) == []
    assert drain(connects) == []


@transport_params()
def test_client_disconnect_then_reconnect(make_client, server, transport):
    client = make_client()
    reasons = queue.Queue()
    auth = record(client, "auth")
    client.on("disconnect", lambda reason: reasons.put(reason))
    connect(client, server, transport, auth={"round": 1})
    assert expect(auth, "first auth") == ({"round": 1},)
    first_sid = client.get_sid()
    assert client.call("message-with-ack", "first", timeout=WAIT) == "first"

    client.disconnect()
    assert expect(reasons, "disconnect event") == socketio.Client.reason.CLIENT_DISCONNECT
    assert not client.connected

    connect(client, server, transport, auth={"round": 2})
    assert expect(auth, "second auth") == ({"round": 2},)
    assert client.get_sid() != first_sid
    assert client.call("message-with-ack", ("second", b"\x02"), timeout=WAIT) == ("second", b"\x02")


def test_client_disconnect_leaves_rooms(make_client, server):
    """A broadcast to a room after one member disconnected still reaches the remaining
    member, exactly once."""
    room = unique("room")
    stayer = connect_member(make_client, server, "websocket")
    leaver = connect_member(make_client, server, "polling")
    assert stayer.call("join", room) == room
    assert leaver.call("join", room) == room
    leaver.client.disconnect()
    stayer.client.emit("to-room", (room, "after disconnect"))
    stayer.expect_room_message(("after disconnect",), "remaining member")
    stayer.expect_no_room_message_before_marker(stayer, "remaining member, exactly once")


@transport_params()
def test_disconnect_one_namespace_keeps_the_other(make_client, server, transport):
    client = make_client()
    reasons = queue.Queue()
    client.on("disconnect", lambda reason: reasons.put(reason), namespace="/custom")
    connect(client, server, transport, namespaces=["/", "/custom"])
    client.emit("server-disconnect", namespace="/custom")
    assert expect(reasons, "disconnect on /custom") == socketio.Client.reason.SERVER_DISCONNECT
    assert set(client.namespaces) == {"/"}
    assert client.connected
    assert client.call("message-with-ack", "still here", timeout=WAIT) == "still here"


# --------------------------------------------------------------------------- 8. connect timeout


def test_connect_timeout_closes_websocket_without_socketio_connect(server):
    ws = websocket.create_connection(server.ws_url + "/socket.io/?EIO=4&transport=websocket", timeout=WAIT)
    try:
        opened = time.monotonic()
        open_packet = ws.recv()
        assert isinstance(open_packet, str) and open_packet.startswith("0{"), open_packet
        ws.settimeout(0.1)
        pings = 0
        closed_after = None
        while time.monotonic() - opened < 4.0:
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                closed_after = time.monotonic() - opened
                break
            if frame == "2":
                pings += 1
                ws.send("3")  # answer pings so only the connect timeout can close us
            elif frame == "" or frame == "1":
                closed_after = time.monotonic() - opened
                break
            else:
                pytest.fail(f"unexpected frame before CONNECT: {frame!r}")
        assert closed_after is not None, "server did not close the connection within 4 s"
        assert 0.8 <= closed_after <= 3.0, f"closed after {closed_after:.2f} s (connectTimeout is 1 s)"
        assert pings >= 1, "the server never pinged, so the close may have been a ping timeout"
    finally:
        ws.close()


def test_connect_timeout_closes_polling_session_without_socketio_connect(server):
    base = server.url + "/socket.io/?EIO=4&transport=polling"
    opened = time.monotonic()
    r = requests.get(base, timeout=WAIT)
    assert r.status_code == 200, r.text
    assert r.text.startswith("0{"), r.text
    sid = json.loads(r.text[1:])["sid"]
    url = f"{base}&sid={sid}"
    closed_after = None
    pings = 0
    with requests.Session() as http:
        while time.monotonic() - opened < 4.0:
            r = http.get(url, timeout=WAIT)
            if r.status_code != 200:
                closed_after = time.monotonic() - opened
                break
            packets = r.text.split("\x1e")
            if "1" in packets:
                closed_after = time.monotonic() - opened
                break
            for p in packets:
                if p == "2":
                    pings += 1
                    assert http.post(url, data="3", timeout=WAIT).status_code == 200
                elif p not in ("6",):
                    pytest.fail(f"unexpected packet before CONNECT: {p!r}")
    assert closed_after is not None, "server did not close the session within 4 s"
    assert 0.8 <= closed_after <= 3.0, f"closed after {closed_after:.2f} s (connectTimeout is 1 s)"
    assert pings >= 1


# --------------------------------------------------------------------------- 9. ping / pong


@transport_params()
def test_idle_session_stays_alive_through_pings(make_client, server, transport):
    client = make_client()
    connects = queue.Queue()
    disconnects = queue.Queue()
    client.on("connect", lambda: connects.put(True))
    client.on("disconnect", lambda reason: disconnects.put(reason))
    pings = queue.Queue()
    receive_packet = client.eio._receive_packet

    def spy_receive_packet(pkt):
        if pkt.packet_type == engineio.packet.PING:
            pings.put(time.monotonic())
        return receive_packet(pkt)

    client.eio._receive_packet = spy_receive_packet
    connect(client, server, transport)
    expect(connects, "connect")
    sid = client.get_sid()
    assert client.eio.ping_interval == pytest.approx(0.3)
    assert client.eio.ping_timeout == pytest.approx(0.2)

    # The one justified real-time wait: stay idle for five ping intervals. A disconnect
    # during the idle period ends the wait early and fails the test.
    try:
        reason = disconnects.get(timeout=1.5)
    except queue.Empty:
        reason = None
    assert reason is None, f"session dropped while idle: {reason}"
    ping_count = len(drain(pings))
    assert ping_count >= 3, f"only {ping_count} pings in 1.5 s with a 300 ms ping interval"

    assert client.connected
    assert client.get_sid() == sid
    assert client.transport() == TRANSPORTS[transport][1]
    assert client.call("message-with-ack", "still alive", timeout=WAIT) == "still alive"
    assert drain(connects) == [] and drain(disconnects) == []


# --------------------------------------------------------------------------- 10. many clients


def test_many_concurrent_clients(make_client, server):
    count = 20
    transport_cycle = itertools.cycle(TRANSPORTS)
    entries = []
    for i in range(count):
        client = make_client()
        entries.append(
            {
                "i": i,
                "transport": next(transport_cycle),
                "client": client,
                "auth": record(client, "auth"),
                "back": record(client, "message-back"),
            }
        )
    start = threading.Barrier(count)

    def run(entry):
        i, client = entry["i"], entry["client"]
        start.wait(timeout=WAIT)
        connect(client, server, entry["transport"], auth={"client": i})
        got_auth = entry["auth"].get(timeout=WAIT)
        token = unique(f"client{i}")
        client.emit("message", (token, i, bytes([i]) * (i + 1)))
        got = entry["back"].get(timeout=WAIT)
        acked = client.call("message-with-ack", (token, "ack"), timeout=WAIT)
        extra = drain(entry["back"])
        return got_auth, (token, i, bytes([i]) * (i + 1)), got, acked, (token, "ack"), extra

    with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(run, e) for e in entries]
        results = [f.result(timeout=30) for f in futures]

    sids = set()
    for entry, (got_auth, sent, got, acked, expected_ack, extra) in zip(entries, results):
        i = entry["i"]
        assert got_auth == ({"client": i},), f"client {i}"
        assert got == sent, f"client {i} got someone else's message-back"
        assert acked == expected_ack, f"client {i}"
        assert extra == [], f"client {i} got extra messages"
        assert entry["client"].transport() == TRANSPORTS[entry["transport"]][1]
        sids.add(entry["client"].get_sid())
    assert len(sids) == count
