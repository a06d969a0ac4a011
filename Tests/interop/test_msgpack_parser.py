"""The msgpack parser, chosen per connection, against real clients.

python-socketio's `serializer='msgpack'` (PyPI, with the `msgpack` package) writes each
packet as one MessagePack map {type, data, nsp, id?}, the shape socket.io-msgpack-parser
(socketio/socket.io-msgpack-parser, index.js) reads and writes; it differs from the
JavaScript parser only in key order and in writing `None` where JavaScript leaves a key
`undefined`, neither of which the server relies on (see docs/REDIS.md). The raw-socket
test checks the server's bytes against an independent encoder (the `msgpack` package)
fed the packet object socket.io builds, in socket.io's key order.

The server runs the conformance application (conftest.py); every connection of one test
shares that server, so JSON and msgpack clients meet in the same rooms.
"""
import queue
import uuid

import msgpack
import pytest
import socketio
import websocket

WAIT = 5.0
TRANSPORTS = ["polling", "websocket"]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def record(client, event):
    received = queue.Queue()
    client.on(event, lambda *args: received.put(args))
    return received


def expect(received, what):
    try:
        return received.get(timeout=WAIT)
    except queue.Empty:
        pytest.fail(f"timed out after {WAIT} s waiting for {what}")


@pytest.fixture
def make_client():
    created = []

    def make(serializer, transport="websocket", **kwargs):
        client = socketio.Client(reconnection=False, serializer=serializer)
        created.append(client)
        return client, transport, kwargs

    def connect(server, serializer, transport="websocket", **kwargs):
        client, transport, kwargs = make(serializer, transport, **kwargs)
        auth = record(client, "auth")
        client.connect(server.url, transports=[transport], wait_timeout=WAIT, **kwargs)
        assert client.connected
        return client, auth

    yield connect
    for client in created:
        try:
            client.disconnect()
        except Exception:  # noqa: BLE001 - teardown must not cascade
            pass


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_msgpack_client_connects_echoes_and_acks(make_client, server, transport):
    client, auth = make_client(server, "msgpack", transport, auth={"token": "t", "n": [1, 2.5]})
    assert expect(auth, "auth event") == ({"token": "t", "n": [1, 2.5]},)
    back = record(client, "message-back")
    args = ("héllo", 0, -1, 300, 1.5, 2**40, None, True, {"nested": [b"\x00\xff", {"k": "v"}]}, b"bytes")
    client.emit("message", args)
    assert expect(back, "message-back") == args
    assert client.call("message-with-ack", ("a", b"\x01", {"x": None}), timeout=WAIT) == ("a", b"\x01", {"x": None})


def test_msgpack_client_answers_a_server_ack_request(make_client, server):
    client, _ = make_client(server, "msgpack")
    calls = queue.Queue()

    def on_emit_with_ack(*received):
        calls.put(received)
        return ("answer", b"\x05", *received)

    client.on("emit-with-ack", on_emit_with_ack)
    client.emit("emit-with-ack", ("q", 7))
    assert expect(calls, "the server's emit with an ack id") == ("q", 7)
    assert expect(calls, "the server's emit of our answer") == ("answer", b"\x05", "q", 7)


def test_json_and_msgpack_clients_in_one_room_get_the_same_broadcast(make_client, server):
    room = unique("room")
    members = []
    for serializer in ["default", "msgpack", "default", "msgpack"]:
        client, _ = make_client(server, serializer, "websocket" if len(members) % 3 else "polling")
        messages = record(client, "room-message")
        assert client.call("join", room, timeout=WAIT) == room
        members.append((serializer, client, messages))
    for sender_serializer, sender, _ in members[:2]:
        args = (f"from {sender_serializer}", {"n": 1, "f": -0.5, "list": [None, False]}, b"\x00\x01\x02")
        sender.emit("to-room", (room, *args))
        for serializer, _, messages in members:
            assert expect(messages, f"{serializer} member, sent by {sender_serializer}") == args


def test_raw_msgpack_bytes_match_socket_io_key_order(server):
    """A raw WebSocket client: the server's CONNECT, EVENT and ACK bytes equal msgpack's
    encoding of the objects socket.io builds (socket.ts: CONNECT {type, data: {sid, pid},
    nsp} with pid undefined -> d4 00 00; emit {type, data, nsp}; ack {id, type, data, nsp})."""
    ws = websocket.create_connection(server.ws_url + "/socket.io/?EIO=4&transport=websocket", timeout=WAIT)
    try:
        assert ws.recv().startswith("0{")
        ws.send_binary(msgpack.packb({"type": 0, "nsp": "/"}))
        connect = ws.recv()
        assert isinstance(connect, bytes)
        decoded = msgpack.unpackb(connect)
        sid = decoded["data"]["sid"]
        undefined = msgpack.ExtType(0, b"\x00")
        assert connect == msgpack.packb({"type": 0, "data": {"sid": sid, "pid": undefined}, "nsp": "/"})
        assert ws.recv() == msgpack.packb({"type": 2, "data": ["auth", {}], "nsp": "/"})

        ws.send_binary(msgpack.packb({"type": 2, "data": ["message-with-ack", "x", 1.25, b"\x07"], "nsp": "/", "id": 12}))
        assert ws.recv() == msgpack.packb({"id": 12, "type": 3, "data": ["x", 1.25, b"\x07"], "nsp": "/"})

        ws.send_binary(msgpack.packb({"type": 2, "data": ["message", [-33, 65536]], "nsp": "/"}))
        assert ws.recv() == msgpack.packb({"type": 2, "data": ["message-back", [-33, 65536]], "nsp": "/"})

        # A text packet on a msgpack connection is a protocol violation: the server closes.
        ws.send("42[\"message\"]")
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
            while True:
                frame = ws.recv()
                if frame in ("", b""):
                    raise websocket.WebSocketConnectionClosedException("closed")
    finally:
        ws.close()
